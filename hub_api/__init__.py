"""Regional AX hub API."""

__version__ = "0.1.0"

API_PREFIX = "/api/v1"
