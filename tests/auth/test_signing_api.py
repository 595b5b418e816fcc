"""Transaction signing: an approval binds the exact details, once."""

from __future__ import annotations

from typing import Any

import pytest

from kabuguard.auth.signing import SIGNED_ACTIONS, certainly_unstored
from kabuguard.decisions.interfaces import AnsweredByWriter, IdempotencyConflict, StorageFailed
from kabuguard.decisions.services import Submitted
from kabuguard.decisions.writer import GroupCommitter
from kabuguard.errors import error_body
from kabuguard.risk.codes import Action
from kabuguard.risk.events import Event
from tests.auth.conftest import Auth, Customer
from tests.factories import at, payout_change, withdrawal

DETAILS = {"withdrawal_id": "wd-77", "amount": "10000", "destination_id": "dst-1"}


def _request(
    auth: Auth, customer: Customer, details: dict[str, str], action: str = "withdrawal"
) -> dict[str, Any]:
    reply = auth.http.post(
        "/v1/signing/requests",
        json={"customer_id": customer.customer_id, "action": action, "details": details},
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


def _approved(auth: Auth, customer: Customer, details: dict[str, str], action: str) -> str:
    request = _request(auth, customer, details, action)
    options = _options(auth, request)
    credential = customer.authenticator.get(options["public_key"])
    approved = _approve(auth, customer, request, options["challenge_id"], credential)
    assert approved.status_code == 200, approved.text
    return f"/v1/signing/requests/{request['id']}/submit"


def test_a_payout_change_signed_here_is_decided_as_approved_with_a_passkey(auth: Auth) -> None:
    customer = auth.create()
    auth.register_passkey(customer)
    change = payout_change(customer.customer_id)
    _, fields = SIGNED_ACTIONS[Action.PAYOUT_CHANGE]
    submit = _approved(auth, customer, {k: change[k] for k in fields}, "payout_change")
    decided = auth.http.post(submit, json={"event": change})
    assert decided.status_code == 200, decided.text
    assert decided.json()["decision"]["outcome"] == "allow"
    reasons = [reason["code"] for reason in decided.json()["decision"]["reasons"]]
    assert "payout:factor:required" not in reasons
    timeline = auth.http.get(f"/v1/customers/{customer.customer_id}/timeline").json()["items"]
    stored = [i["event"] for i in timeline if i["event"]["type"] == "payout_change"]
    assert [event.get("approved_with") for event in stored] == ["passkey"]


def test_an_approval_whose_event_id_was_taken_is_given_back_unbound(auth: Auth) -> None:
    # Changed with the idempotency-conflict fix: the approval used to stay bound to evt-taken
    # ("submit that event again"), which can never be decided as this withdrawal.
    customer = auth.create()
    auth.register_passkey(customer)
    submit = _approved(auth, customer, DETAILS, "withdrawal")
    # evt-taken already names another event: this one is certainly not stored.
    taken = withdrawal(customer.customer_id, event_id="evt-taken", amount="5")
    assert auth.http.post("/v1/events", json=taken).status_code == 200
    failed = auth.http.post(submit, json={"event": _withdrawal(customer, event_id="evt-taken")})
    assert failed.status_code == 409, failed.text
    assert failed.json()["error"]["code"] == "idempotency_conflict"
    assert "choose a new event_id" in failed.json()["error"]["message"]
    assert "submit that event again" not in failed.json()["error"]["message"]
    request = auth.http.get(submit.removesuffix("/submit")).json()
    assert (request["status"], request["event_id"]) == ("approved", None)

    other = auth.http.post(submit, json={"event": _withdrawal(customer, event_id="evt-other")})
    assert other.status_code == 200, other.text
    assert other.json()["signing"]["event_id"] == "evt-other"
    again = auth.http.post(submit, json={"event": _withdrawal(customer, event_id="evt-third")})
    assert again.status_code == 409  # used once


def test_an_approval_whose_event_may_be_stored_serves_only_a_retry_of_it(
    auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = auth.create()
    auth.register_passkey(customer)
    submit = _approved(auth, customer, DETAILS, "withdrawal")
    decide = GroupCommitter.submit

    async def unavailable(self: GroupCommitter, event: Event, actor: str) -> Submitted:
        raise StorageFailed  # the database refused: the event may or may not be stored

    monkeypatch.setattr(GroupCommitter, "submit", unavailable)
    failed = auth.http.post(submit, json={"event": _withdrawal(customer, event_id="evt-1")})
    assert failed.status_code == 503, failed.text
    monkeypatch.setattr(GroupCommitter, "submit", decide)

    other = auth.http.post(submit, json={"event": _withdrawal(customer, event_id="evt-2")})
    assert other.status_code == 409, other.text
    assert "kept for a retry of event evt-1" in other.json()["error"]["message"]
    retry = auth.http.post(submit, json={"event": _withdrawal(customer, event_id="evt-1")})
    assert retry.status_code == 200, retry.text
    assert retry.json()["signing"]["event_id"] == "evt-1"


def test_only_an_idempotency_conflict_counts_as_certainly_not_stored() -> None:
    conflict = error_body("idempotency_conflict", "event_id 'e' was already used")
    assert certainly_unstored(IdempotencyConflict("e"))
    assert certainly_unstored(AnsweredByWriter(409, conflict))  # from the writer process
    assert not certainly_unstored(StorageFailed())
    assert not certainly_unstored(AnsweredByWriter(503, error_body("storage_unavailable", "x")))
    assert not certainly_unstored(AnsweredByWriter(409, b"not json"))
