"""Test support: throwaway databases, a real server process, an HTTP client."""
