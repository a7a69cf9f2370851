"""The commands routes: handlers and their wire models."""
