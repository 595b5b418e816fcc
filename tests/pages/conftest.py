"""The hosted pages run on the same live server as the auth API tests."""

from tests.auth.conftest import auth, settings

__all__ = ["auth", "settings"]
