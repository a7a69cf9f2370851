"""The workers routes: handlers and their wire models."""
