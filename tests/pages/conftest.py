"""The hosted pages run on the same live server as the auth API tests."""

from tests.auth.conftest import auth, server_with, settings

__all__ = ["auth", "server_with", "settings"]
