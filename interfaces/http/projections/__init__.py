"""The projections routes: handlers and their wire models."""
