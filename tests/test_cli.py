"""The kabuguard command against a real database (both backends)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from kabuguard.apikeys.models import ApiKeyRow
from kabuguard.db import Database
from kabuguard.lists.services import ListService
from kabuguard.risk.signals import SymbolHalt
from kabuguard.state.sql import SqlState
from tests.cli_helpers import KABUGUARD, run_cli
from tests.metrics_helpers import samples


def test_apikey_create_prints_the_key_once_and_stores_only_a_digest(
    database_url: str, database: Database
) -> None:
    created = run_cli("apikey", "create", "web-login", database_url=database_url)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("kg_")
    assert "shown once" in created.stderr
    with database.read() as session:
        row = session.execute(select(ApiKeyRow)).scalar_one()
    assert key not in (row.digest, row.key_id)
    assert row.scopes == "customers:read decisions:read events:write lists:read"
    listed = run_cli("apikey", "list", database_url=database_url)
    assert "web-login" in listed.stdout
    assert key not in listed.stdout
    again = run_cli("apikey", "create", "web-login", database_url=database_url)
    assert again.returncode == 1
    assert "already exists" in again.stderr
    revoked = run_cli("apikey", "revoke", "web-login", database_url=database_url)
    assert revoked.returncode == 0
    assert run_cli("apikey", "revoke", "web-login", database_url=database_url).returncode == 1


def test_halt_and_blocklist_commands(database_url: str) -> None:
    add = run_cli(
        "halt", "add", "1234", "--market", "tse", "--reason", "pump",
        "--until", "2030-01-01T00:00:00+09:00", database_url=database_url,
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    assert "TSE" in run_cli("halt", "list", database_url=database_url).stdout
    naive = run_cli(
        "halt", "add", "1", "--market", "TSE", "--reason", "x", "--until", "2030-01-01T00:00:00",
        database_url=database_url,
    )  # fmt: skip
    assert naive.returncode == 1
    assert "time zone" in naive.stderr
    assert (
        run_cli("halt", "remove", "1234", "--market", "TSE", database_url=database_url).returncode
        == 0
    )
    missing = run_cli("halt", "remove", "1234", "--market", "TSE", database_url=database_url)
    assert missing.returncode == 1
    assert "not on the halted symbol list" in missing.stderr
    bad = run_cli("blocklist", "add", "300.1.1.1", "--reason", "x", database_url=database_url)
    assert bad.returncode == 1
    assert "not an IP address" in bad.stderr
    ok = run_cli(
        "blocklist", "add", "2001:db8::/32", "--reason", "abuse", database_url=database_url
    )
    assert ok.returncode == 0, ok.stderr
    assert "2001:db8::/32" in run_cli("blocklist", "list", database_url=database_url).stdout
    verify = run_cli("audit", "verify", database_url=database_url)
    assert verify.returncode == 0
    assert "3 entries" in verify.stdout


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        # Was stored as " 7203 ": the halt matched no order, and the command said it halted.
        ((" 7203 ", "--market", "TSE", "--reason", "x"), "error: symbol: String should match"),
        (("7203", "--market", "", "--reason", ""), "--market: String should match pattern"),
        # Was a DataError traceback on PostgreSQL (symbol VARCHAR(16), reason VARCHAR(500)).
        (("7" * 17, "--market", "TSE", "--reason", "x" * 501),
         "symbol: Value should have at most 16 items after validation, not 17; --reason: String"),
        # Was an OverflowError traceback from the database layer.
        (("7203", "--market", "TSE", "--reason", "x", "--until", "9999-12-31T23:59:59-14:00"),
         "--until: must be between 1970 and 2199"),
    ],
)  # fmt: skip
def test_halt_add_refuses_what_the_api_refuses_naming_the_option(
    database_url: str, database: Database, arguments: tuple[str, ...], problem: str
) -> None:
    refused = run_cli("halt", "add", *arguments, database_url=database_url)
    assert refused.returncode == 1, refused.stdout
    assert problem in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    with database.read() as session:
        assert SqlState(session).halts(datetime.now(UTC)) == []


def test_blocklist_add_stores_an_ipv4_mapped_network_as_ipv4_and_refuses_a_zone(
    database_url: str,
) -> None:
    mapped = run_cli(
        "blocklist", "add", "::ffff:203.0.113.0/120", "--reason", "relay",
        database_url=database_url,
    )  # fmt: skip
    assert mapped.returncode == 0, mapped.stderr
    assert "203.0.113.0/24 is blocked" in mapped.stdout  # was ::ffff:cb00:7100/120, unmatched
    zoned = run_cli("blocklist", "add", "fe80::1%eth0", "--reason", "x", database_url=database_url)
    assert zoned.returncode == 1
    assert "error: network: 'fe80::1%eth0' carries a zone" in zoned.stderr
    removed = run_cli("blocklist", "remove", "::ffff:203.0.113.0/120", database_url=database_url)
    assert removed.returncode == 0, removed.stderr
    assert "203.0.113.0/24 is no longer blocked" in removed.stdout


def test_list_commands_print_staff_text_as_written_never_as_markup(
    database_url: str, database: Database
) -> None:
    with database.write() as session:  # stored by an older `halt add`, which checked nothing
        ListService(session, actor="cli:old", at=datetime.now(UTC)).halt(
            SymbolHalt("[/X]", "TSE", "old", None)
        )
    halted = run_cli(
        "halt", "add", "7203", "--market", "TSE", "--reason", "[/x] [bold]as typed",
        database_url=database_url,
    )  # fmt: skip
    assert halted.returncode == 0, halted.stderr
    blocked = run_cli(
        "blocklist", "add", "192.0.2.0/24", "--reason", "[/x]", database_url=database_url
    )
    assert blocked.returncode == 0, blocked.stderr
    halts = run_cli("halt", "list", database_url=database_url)
    assert halts.returncode == 0, halts.stderr  # was a MarkupError traceback
    assert "[/X]" in halts.stdout
    assert "[/x] [bold]as typed" in halts.stdout
    blocks = run_cli("blocklist", "list", database_url=database_url)
    assert blocks.returncode == 0, blocks.stderr
    assert "[/x]" in blocks.stdout


def test_serve_migrates_the_embedded_database_and_ends_by_saying_where_to_look(
    tmp_path: Path,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = os.environ | {
        "KABUGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
        "KABUGUARD_LOG_LEVEL": "WARNING",
        "KABUGUARD_PUBLIC_BASE_URL": "http://localhost:8000",
        "KABUGUARD_AUTH_OPEN_SIGNUP": "true",
    }
    server = subprocess.Popen(
        [KABUGUARD, "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        assert server.stderr is not None
        lines: list[str] = []
        while len(lines) < 40 and not any("Ctrl+C" in line for line in lines):
            lines.append(server.stderr.readline())  # bounded too by pytest-timeout
        banner = "".join(lines)
        assert f"running on http://127.0.0.1:{port}" in banner
        assert f"http://127.0.0.1:{port}/docs" in banner
        assert "apikey create demo" in banner
        assert "Hosted pages   http://localhost:8000/auth/login" in banner
        assert "http://localhost:8000/auth/signup" in banner
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as ready:
            assert json.loads(ready.read()) == {"status": "ready"}
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_serve_refuses_the_placeholder_secrets_off_this_machine_and_names_unknown_variables(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in _SECRETS} | {
        "KABUGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
        "KABUGUARD_ENV": "production",  # a typo: the setting is KABUGUARD_ENVIRONMENT
    }
    served = subprocess.run(
        [KABUGUARD, "serve", "--host", "0.0.0.0", "--port", "0"],  # noqa: S104 - refused below
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert served.returncode == 1
    assert "KABUGUARD_ENV is not a kabuguard setting" in served.stderr
    assert "refusing to listen on 0.0.0.0 with the development placeholder secrets" in (
        " ".join(served.stderr.split())
    )


_SECRETS = ("KABUGUARD_API_KEY_PEPPER", "KABUGUARD_DATA_KEY", "KABUGUARD_ENVIRONMENT")


def test_the_installed_command_carries_the_guard_and_credential_commands(
    tmp_path: Path, database_url: str
) -> None:
    sheet = tmp_path / "instruments.csv"
    sheet.write_text(
        "symbol,market,name,currency,lot_size,listed_shares,average_daily_volume,limit_up,"
        "limit_down\n7203,TSE,Toyota,JPY,100,16000000000,20000000,3200,2200\n"
    )
    imported = run_cli("reference", "instruments", str(sheet), database_url=database_url)
    assert imported.returncode == 0, imported.stderr
    added = run_cli("restrictions", "add", "c-1", "--market", "nasdaq", "--reason", "asked",
                    database_url=database_url)  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "NASDAQ" in run_cli("restrictions", "list", "c-1", database_url=database_url).stdout
    leak = tmp_path / "leak.csv"
    leak.write_text("customer_id\nc-1\n")
    listed = run_cli("credentials", "import", str(leak), "--source", "paste site",
                     database_url=database_url)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert "1 customers listed as exposed" in listed.stdout
    for group in ("cases", "holds"):
        assert run_cli(group, "list", database_url=database_url).returncode == 0


def _children(pid: int) -> list[int]:
    """Live child processes of `pid`, whichever of its threads started them."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # ended while we looked
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _post_event(port: int, key: str, event_id: str) -> int:
    body = json.dumps(
        {"event_id": event_id, "type": "logout", "occurred_at": "2026-11-20T10:00:00+09:00",
         "customer_id": "c-1", "channel": "web"}
    ).encode()  # fmt: skip
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/events",
        data=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return samples(response.read().decode())


def test_serve_runs_its_writer_process_restarts_it_and_stops_it(database_url: str) -> None:
    """ADR 0008, as run: the decisions are the writer child's; a killed child is replaced;
    stopping the server stops the child and removes its socket."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    key = run_cli("apikey", "create", "svc", database_url=database_url).stdout.strip()
    env = os.environ | {"KABUGUARD_DATABASE_URL": database_url, "KABUGUARD_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [KABUGUARD, "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        assert server.stderr is not None
        while "Ctrl+C" not in server.stderr.readline():
            pass  # the banner's last line: listening (bounded by pytest-timeout)
        [writer] = _children(server.pid)
        arguments = Path(f"/proc/{writer}/cmdline").read_bytes().decode().split("\0")
        writer_socket = Path(arguments[arguments.index("--socket") + 1])
        assert writer_socket.is_socket()
        assert _post_event(port, key, "e-1") == 200
        os.kill(writer, signal.SIGKILL)
        deadline = time.monotonic() + 60
        answers = []
        while time.monotonic() < deadline:
            answers.append(_post_event(port, key, "e-2"))  # 503 until the new child listens
            if answers[-1] == 200:
                break
            time.sleep(0.2)
        assert answers[-1] == 200
        assert set(answers) <= {200, 503}
        [replacement] = _children(server.pid)
        assert replacement != writer
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as ready:
            assert json.loads(ready.read()) == {"status": "ready"}
        metrics = _scrape(port)
        assert metrics["kabuguard_writer_up"] == 1
        assert metrics["kabuguard_writer_exits_total"] == 1
        assert metrics["kabuguard_group_commit_batch_size_count"] == 1  # e-2, by the new child
        assert metrics['kabuguard_decisions_total{outcome="allow"}'] == 2
        server.terminate()
        assert server.wait(timeout=60) == -signal.SIGTERM  # ended by the signal: a clean stop
        assert not Path(f"/proc/{replacement}").exists()
        assert not writer_socket.parent.exists()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
