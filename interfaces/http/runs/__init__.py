"""The runs routes: handlers and their wire models."""
