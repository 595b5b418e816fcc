"""The bench hook reports both figures; OpenAPI documents the auth and signing API."""

from __future__ import annotations

from kabuguard.auth import bench
from tests.auth.conftest import Auth


def test_measure_reports_password_and_passkey_rates() -> None:
    figures = bench.password_verifications(0.05) | bench.passkey_verifications(5)
    assert figures["password_verifications_per_second"] > 0
    assert figures["passkey_assertion_verifications_per_second"] > 0


def test_openapi_documents_the_auth_api_but_not_the_pages(auth: Auth) -> None:
    paths = auth.http.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/auth/login/password",
        "/v1/auth/passkeys/login",
        "/v1/auth/lock",
        "/v1/signing/requests/{request_id}/submit",
    ):
        assert path in paths
        assert next(iter(paths[path].values()))["security"] == [{"apiKey": []}]
    assert not [p for p in paths if p.startswith("/auth/")]
    policy = auth.http.get("/v1/auth/policy").json()
    assert policy["required_factor"]["order"] == "any_mfa"
    assert policy["in_transition"] is True
