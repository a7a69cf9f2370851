"""The console routes: handlers and their wire models."""
