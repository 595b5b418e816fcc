"""Cases, holds and product restrictions over real HTTP on a real database."""

from __future__ import annotations

from datetime import timedelta

import httpx

from kabuguard.apikeys.interfaces import Scope
from tests import factories as f
from tests.conftest import LiveServer
from tests.functional.test_events_api import codes, decide


def test_a_product_restriction_denies_that_market_until_lifted(
    api: httpx.Client, live_server: LiveServer
) -> None:
    decide(api, f.instrument(symbol="AAPL", market="NASDAQ", currency="USD", lot_size=1))
    url = "/v1/customers/c-1/product-restrictions"
    added = api.post(url, json={"market": "NASDAQ", "reason": "顧客の依頼 / customer asked"})
    assert added.status_code == 201, added.text
    assert [r["market"] for r in api.get(url).json()] == ["NASDAQ"]
    order = f.order(symbol="AAPL", market="NASDAQ", currency="USD", quantity=1, limit_price="200")
    refused = decide(api, order)
    assert refused["outcome"] in {"hold", "deny"}
    assert "order:product:restricted" in codes(refused)
    assert api.delete(f"{url}/NASDAQ").status_code == 200
    assert api.get(url).json() == []
    assert api.delete(f"{url}/NASDAQ").status_code == 404
    reader = live_server.key("reader", scopes=(Scope.CUSTOMERS_READ, Scope.LISTS_READ))
    with live_server.client(reader) as client:
        assert client.post(url, json={"market": "NASDAQ", "reason": "x"}).status_code == 403
        assert client.get(url).status_code == 200


def test_a_held_withdrawal_is_listed_and_released_once_by_staff(
    api: httpx.Client, live_server: LiveServer
) -> None:
    live_server.clock.now = f.BASE_TIME
    decide(api, f.payout_change("c-2", minutes=0, approved_with="passkey"))
    live_server.clock.advance(timedelta(minutes=30))
    held = decide(api, f.withdrawal("c-2", minutes=30, destination_id="dst-2"))
    assert held["outcome"] == "hold"
    [hold] = api.get("/v1/holds", params={"customer_id": "c-2"}).json()
    assert (hold["event_id"], hold["status"]) == (held["event_id"], "pending")
    release = f"/v1/holds/{held['event_id']}/release"
    done = api.post(release, json={"note": "本人に登録電話番号で確認 / confirmed by phone"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "released"
    again = api.post(release, json={"note": "twice"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "hold_decided")
    assert api.get("/v1/holds", params={"customer_id": "c-2"}).json() == []
    assert api.post("/v1/holds/nothing/release", json={"note": "x"}).status_code == 404


def test_cases_list_and_an_unknown_case_is_404(api: httpx.Client) -> None:
    assert api.get("/v1/cases").json() == []
    missing = api.get("/v1/cases/case-unknown")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"]
