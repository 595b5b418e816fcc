"""The list endpoints over HTTP on a real database (both backends): networks are stored as
they are matched, refused with a 422 naming the field when they cannot be, and changes to one
entry at once are applied and audited once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from ipaddress import ip_network
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from kabuguard.audit.models import AuditEntry
from kabuguard.audit.services import verify_chain
from kabuguard.lists.services import ListService
from kabuguard.risk.signals import BlockedNetwork
from tests import factories as f
from tests.bad_input import blames, refused
from tests.conftest import LiveServer

BLOCKS = "/v1/lists/blocked-networks"


def _decide(api: httpx.Client, event: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/v1/events", json=event)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _blocked(api: httpx.Client, ip: str, minutes: int) -> bool:
    decision = _decide(api, f.withdrawal("c-mapped", minutes=minutes, ip=ip))
    return "network:ip:blocked" in [reason["code"] for reason in decision["reasons"]]


def _audited(live_server: LiveServer, kind: str) -> int:
    with live_server.database.read() as session:
        count: int = session.execute(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.kind == kind)
        ).scalar_one()
        assert verify_chain(session).intact
    return count


def test_a_block_written_as_ipv4_mapped_ipv6_blocks_those_ipv4_clients(api: httpx.Client) -> None:
    # Was stored as ::ffff:cb00:7100/120 and never matched: event addresses are matched as
    # IPv4, and IPv4 addresses were compared with IPv4 entries only.
    body = {"network": "::ffff:203.0.113.0/120", "reason": "stuffing"}
    created = api.post(BLOCKS, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["network"] == "203.0.113.0/24"
    assert [b["network"] for b in api.get(BLOCKS).json()] == ["203.0.113.0/24"]
    assert _blocked(api, "203.0.113.5", minutes=1)
    assert _blocked(api, "::ffff:203.0.113.6", minutes=2)
    assert not _blocked(api, "203.0.114.5", minutes=3)
    removed = api.delete(f"{BLOCKS}/::ffff:203.0.113.0/120")
    assert removed.status_code == 200, removed.text
    assert removed.json()["network"] == "203.0.113.0/24"
    assert not _blocked(api, "203.0.113.5", minutes=4)


def test_a_mapped_entry_stored_before_the_fix_blocks_and_is_removed_by_either_spelling(
    api: httpx.Client, live_server: LiveServer
) -> None:
    legacy = BlockedNetwork(ip_network("::ffff:203.0.113.0/120"), "stored as it came", None)
    with live_server.database.write() as session:
        ListService(session, actor="test", at=live_server.clock()).block(legacy)
    assert _blocked(api, "203.0.113.5", minutes=1)
    removed = api.delete(f"{BLOCKS}/203.0.113.0/24")
    assert removed.status_code == 200, removed.text
    assert removed.json()["network"] == "::ffff:cb00:7100/120"
    assert not _blocked(api, "203.0.113.5", minutes=2)
    assert refused(api.delete(f"{BLOCKS}/203.0.113.0/24"), 404)["code"] == "not_listed"
    assert _audited(live_server, "list:blocked_network:removed") == 1


@pytest.mark.parametrize(
    "network",
    [
        "fe80::1%" + "a" * 56,  # 64 characters, 68 as stored: was a 500 on PostgreSQL
        "fe80::1%eth0",
        "fe80::%eth0/64",
    ],
)
def test_a_network_with_a_zone_is_a_422_naming_the_network(api: httpx.Client, network: str) -> None:
    error = refused(api.post(BLOCKS, json={"network": network, "reason": "r"}), 422)
    assert error["code"] == "invalid_request"
    assert blames(error, "network")
    assert "zone" in error["message"]
    assert api.get(BLOCKS).json() == []


def test_removing_a_network_that_cannot_be_one_is_a_422(api: httpx.Client) -> None:
    zoned = refused(api.delete(f"{BLOCKS}/fe80::1%25eth0/128"), 422)
    assert zoned["code"] == "invalid_network"
    assert "zone" in zoned["message"]
    host_bits = refused(api.delete(f"{BLOCKS}/192.0.2.9/24"), 422)
    assert "the network is 192.0.2.0/24" in host_bits["message"]


def test_the_same_entry_removed_at_once_is_removed_and_audited_once(
    api: httpx.Client, live_server: LiveServer
) -> None:
    halt = {"symbol": "7203", "market": "TSE", "reason": "pump"}
    assert api.post("/v1/lists/halted-symbols", json=halt).status_code == 201
    assert api.post(BLOCKS, json={"network": "192.0.2.0/24", "reason": "relay"}).status_code == 201
    key = live_server.key("racers")

    def remove(path: str) -> int:
        with live_server.client(key) as client:
            return client.delete(path).status_code

    paths = ["/v1/lists/halted-symbols/TSE/7203", f"{BLOCKS}/192.0.2.0/24"] * 8
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(remove, paths))
    assert sorted(statuses) == [200] * 2 + [404] * 14
    assert _audited(live_server, "list:halted_symbol:removed") == 1
    assert _audited(live_server, "list:blocked_network:removed") == 1
