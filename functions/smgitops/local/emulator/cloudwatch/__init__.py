"""Emulated CloudWatch: metric alarms evaluated from the data put for them (moto never does)."""
