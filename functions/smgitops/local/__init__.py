"""The local runtime (``smgitops local up``, ``smgitops demo``) and, in :mod:`.emulator`, the AWS
emulator it runs on: moto extended with what moto lacks. Never used by the functions in AWS."""
