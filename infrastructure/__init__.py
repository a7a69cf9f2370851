"""Wiring of the eventsourcing library, databases, signals and the projection runner."""
