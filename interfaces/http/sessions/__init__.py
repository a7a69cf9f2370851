"""The sessions routes: handlers and their wire models."""
