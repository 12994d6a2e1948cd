"""A fake Kubernetes API server for end-to-end tests (see ../README.md)."""
from .server import FakeAPIServer, Fault  # noqa: F401
