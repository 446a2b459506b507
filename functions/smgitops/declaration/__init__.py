"""Endpoint declarations: pydantic models, YAML loading with line numbers, JSON Schema."""
