"""Emulated SageMaker: the endpoint lifecycle SageMaker has and moto lacks."""
