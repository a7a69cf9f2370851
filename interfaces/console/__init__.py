"""The operator console: static files (plain ES modules, no build step) served at /ui."""

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
