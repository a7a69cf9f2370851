"""Translators: the HTTP API, SSE streams, the CLI and the Python client."""
