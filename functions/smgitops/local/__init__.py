"""The local runtime: moto server on loopback extended with what moto lacks. Never used by the
functions in AWS."""
