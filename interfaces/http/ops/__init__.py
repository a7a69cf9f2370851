"""The ops routes: handlers and their wire models."""
