"""The events routes: handlers and their wire models."""
