"""Thin Lambda entry points: parse the event, call one domain function, map errors."""
