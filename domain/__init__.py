"""Aggregates and their events: pure, no I/O, no clock."""
