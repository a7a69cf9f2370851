"""The queue routes: handlers and their wire models."""
