"""The backends routes: handlers and their wire models."""
