"""Transaction signing: an approval binds the exact details, once."""

from __future__ import annotations

from typing import Any

from tests.auth.conftest import Auth, Customer
from tests.factories import at

DETAILS = {"withdrawal_id": "wd-77", "amount": "10000", "destination_id": "dst-1"}


def _request(auth: Auth, customer: Customer, details: dict[str, str]) -> dict[str, Any]:
    reply = auth.http.post(
        "/v1/signing/requests",
        json={"customer_id": customer.customer_id, "action": "withdrawal", "details": details},
    )
    assert reply.status_code == 201, reply.text
    created: dict[str, Any] = reply.json()
    return created


def _options(auth: Auth, request: dict[str, Any]) -> dict[str, Any]:
    reply = auth.http.post(f"/v1/signing/requests/{request['id']}/options")
    assert reply.status_code == 200, reply.text
    options: dict[str, Any] = reply.json()
    return options


def _approve(
    auth: Auth,
    customer: Customer,
    request: dict[str, Any],
    challenge_id: str,
    credential: dict[str, Any],
) -> Any:
    body = {"challenge_id": challenge_id, "credential": credential, "client": customer.client()}
    return auth.http.post(f"/v1/signing/requests/{request['id']}/approve", json=body)


def _withdrawal(customer: Customer, **fields: str) -> dict[str, Any]:
    return (
        {
            "type": "withdrawal",
            "event_id": f"evt-{fields.get('withdrawal_id', 'wd-77')}",
            "occurred_at": at(5),
            "customer_id": customer.customer_id,
        }
        | DETAILS
        | fields
    )


def test_an_approval_for_10000_yen_cannot_approve_1000000_yen(auth: Auth) -> None:
    customer = auth.create()
    auth.register_passkey(customer)
    small = _request(auth, customer, DETAILS)
    large = _request(auth, customer, DETAILS | {"withdrawal_id": "wd-78", "amount": "1000000"})
    assert small["url"].endswith(f"/auth/sign/{small['id']}")
    small_options, large_options = _options(auth, small), _options(auth, large)
    assert small_options["public_key"]["challenge"] != large_options["public_key"]["challenge"]
    signed_small = customer.authenticator.get(small_options["public_key"])

    # The assertion over the ¥10,000 challenge does not verify against the ¥1,000,000 one…
    wrong = _approve(auth, customer, large, large_options["challenge_id"], signed_small)
    assert wrong.status_code == 400
    # …nor can its challenge be presented for the other request.
    crossed = _approve(auth, customer, large, small_options["challenge_id"], signed_small)
    assert crossed.status_code in (400, 409)
    assert auth.http.get(f"/v1/signing/requests/{large['id']}").json()["status"] == "pending"

    fresh_small = _options(auth, small)
    approved = _approve(
        auth,
        customer,
        small,
        fresh_small["challenge_id"],
        customer.authenticator.get(fresh_small["public_key"]),
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"

    submit = f"/v1/signing/requests/{small['id']}/submit"
    inflated = auth.http.post(submit, json={"event": _withdrawal(customer, amount="1000000")})
    assert inflated.status_code == 409
    assert "amount" in inflated.json()["error"]["message"]
    exact = auth.http.post(submit, json={"event": _withdrawal(customer)})
    assert exact.status_code == 200, exact.text
    assert exact.json()["decision"]["event_id"] == "evt-wd-77"
    assert exact.json()["signing"]["status"] == "used"
    assert exact.json()["signing"]["outcome"] == exact.json()["decision"]["outcome"]
    twice = auth.http.post(
        submit, json={"event": _withdrawal(customer, withdrawal_id="wd-77", event_id="evt-again")}
    )
    assert twice.status_code == 409


def test_bad_signing_requests_are_4xx(auth: Auth) -> None:
    customer = auth.create()
    no_passkey = auth.http.post(
        "/v1/signing/requests",
        json={"customer_id": customer.customer_id, "action": "withdrawal", "details": DETAILS},
    )
    assert no_passkey.status_code == 409
    auth.register_passkey(customer)
    order = auth.http.post(
        "/v1/signing/requests",
        json={"customer_id": customer.customer_id, "action": "order", "details": {}},
    )
    assert order.status_code == 422
    missing = auth.http.post(
        "/v1/signing/requests",
        json={
            "customer_id": customer.customer_id,
            "action": "withdrawal",
            "details": {"amount": "-1"},
        },
    )
    assert missing.status_code == 422
    assert auth.http.get("/v1/signing/requests/nope").status_code == 404
    created = _request(auth, customer, DETAILS)
    unapproved = auth.http.post(
        f"/v1/signing/requests/{created['id']}/submit", json={"event": _withdrawal(customer)}
    )
    assert unapproved.status_code == 409
    not_event = auth.http.post(f"/v1/signing/requests/{created['id']}/submit", json={"event": {}})
    assert not_event.status_code == 422
