"""The Starlette HTTP API."""
