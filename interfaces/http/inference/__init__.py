"""The inference routes: handlers and their wire models."""
