"""The kabuguard command."""

from __future__ import annotations

import getpass
import os
import secrets
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Any, BinaryIO, TypeVar

import typer
import uvicorn
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from starlette.types import ASGIApp

from kabuguard import migrations
from kabuguard.apikeys import services as apikeys
from kabuguard.apikeys.interfaces import DEFAULT_SCOPES, ApiKeyError, Scope
from kabuguard.app import (
    PolicyChanged,
    create_app,
    load_policies,
    policies_digest,
    run_writer,
)
from kabuguard.audit.services import verify_chain
from kabuguard.auth import command as auth_commands
from kabuguard.bench.runner import BenchOptions
from kabuguard.bench.runner import run as run_bench
from kabuguard.cases import command as case_commands
from kabuguard.config import Settings, unknown_variables
from kabuguard.db import Database, sqlite_file
from kabuguard.decisions.process import WriterFailed, WriterProcess
from kabuguard.lists.schemas import BlockIn, HaltIn, parse_network
from kabuguard.lists.services import ListService
from kabuguard.notifications import command as notification_commands
from kabuguard.observability import configure_logging
from kabuguard.reference import command as reference_commands
from kabuguard.replay import BadLine, ReplaySummary, lines_of, replay
from kabuguard.risk.policy import Policy, PolicyError
from kabuguard.risk.signals import BlockedNetwork, IPNetwork, SymbolHalt
from kabuguard.scoreboard import command as scoreboard_commands
from kabuguard.simulate import command as simulate_commands
from kabuguard.state import command as credential_commands
from kabuguard.state.interfaces import StateError

app = typer.Typer(no_args_is_help=True, help="kabuguard: account-takeover defence for brokers.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
apikey_app = typer.Typer(no_args_is_help=True, help="API keys for calling systems.")
audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit log.")
halt_app = typer.Typer(no_args_is_help=True, help="Symbol buy-halts (sells stay allowed).")
block_app = typer.Typer(no_args_is_help=True, help="Blocked IP addresses and networks.")
for sub, name in (
    (db_app, "db"),
    (apikey_app, "apikey"),
    (audit_app, "audit"),
    (halt_app, "halt"),
    (block_app, "blocklist"),
):
    app.add_typer(sub, name=name)

# Output carries data (reason codes such as customer:lock:active, staff-written reasons,
# symbols and file names as typed): never let it be read as emoji codes or markup (a halt on
# "[/x]" was stored, then the command failed with a MarkupError). Colour goes in as styles.
out = Console(emoji=False, highlight=False, markup=False)
err = Console(stderr=True, emoji=False, highlight=False, markup=False, soft_wrap=True)
Body = TypeVar("Body", bound=BaseModel)
# A field of a request body as the command's option spells it.
_OPTIONS = {"market": "--market", "reason": "--reason", "until": "--until"}


def _settings() -> Settings:
    return Settings()


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _database() -> Iterator[Database]:
    """The configured database, released when the command is done."""
    database = Database.from_settings(_settings())
    try:
        yield database
    finally:
        database.dispose()


def _aware(until: datetime | None) -> datetime | None:
    if until is not None and until.tzinfo is None:
        raise _fail("--until needs a time zone, e.g. 2026-12-01T15:00:00+09:00")
    return until


def _network(text: str) -> IPNetwork:
    try:
        return parse_network(text)
    except ValueError as error:
        raise _fail(str(error)) from None


def _valid(model: type[Body], **fields: object) -> Body:
    """The same request body the API validates, so the command refuses what the API refuses
    (a symbol written " 7203 " was stored and halted nothing), naming the option."""
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        problems = []
        for issue in error.errors(include_url=False):
            name = ".".join(str(part) for part in issue["loc"])
            message = str(issue["msg"]).removeprefix("Value error, ")
            problems.append(f"{_OPTIONS.get(name, name)}: {message}")
        raise _fail("; ".join(problems)) from None


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(_error(message))
    return typer.Exit(code)


def _error(message: str) -> Text:
    return Text.assemble(("error:", "red"), " ", message)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    writer_process: Annotated[
        bool | None,
        typer.Option(
            "--writer-process/--single-process",
            help="Decide events in a writer process of its own (default: "
            "KABUGUARD_WRITER_PROCESS, true).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the decision API (migrating the embedded SQLite database first)."""

    settings = _settings()
    configure_logging(settings.log_level, json_logs=settings.log_json)
    bind_host, bind_port = host or settings.host, port if port is not None else settings.port
    for name in unknown_variables(os.environ):
        err.print(f"warning: {name} is not a kabuguard setting and is ignored (a typo?)")
    _refuse_placeholders_off_loopback(settings, bind_host)
    if settings.is_sqlite and settings.auto_migrate:
        migrations.upgrade(settings.database_url)
    policies = load_policies(settings)  # once: the writer is held to the same files
    wanted = settings.writer_process if writer_process is None else writer_process
    writer = (
        WriterProcess(["--policy-digest", policies_digest(policies)])
        if wanted and _one_database_for_all(settings)
        else None
    )
    try:
        if writer is not None:
            # uvicorn re-raises the signal that stopped it; by default SIGTERM would end this
            # process there, before the writer is stopped in order below.
            signal.signal(signal.SIGTERM, _exit_on_signal)
            _start(writer)
        app = create_app(settings, writer=writer, policies=policies)
        config = server_config(app, bind_host, bind_port, settings)
        _AnnouncingServer(config, _welcome(bind_host, bind_port, settings)).run()
    finally:
        if writer is not None:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut this short
            writer.stop()
            _end_by_signal()


def _refuse_placeholders_off_loopback(settings: Settings, bind_host: str) -> None:
    """The development secrets are published in this repository: with them, a copy of the
    database gives away customers' contact details. Serving others with them is refused."""
    if settings.uses_placeholder_secrets and bind_host not in _LOOPBACK:
        raise _fail(
            f"refusing to listen on {bind_host} with the development placeholder secrets: set "
            "KABUGUARD_API_KEY_PEPPER and KABUGUARD_DATA_KEY (and KABUGUARD_ENVIRONMENT="
            "production), or listen on 127.0.0.1"
        )


_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _end_by_signal() -> None:
    """End by the signal that stopped the server, as uvicorn alone does: service managers
    count a stop by SIGTERM as clean, and an exit status of 143 as a failure."""
    if _stopped_by is not None:
        signal.signal(_stopped_by, signal.SIG_DFL)
        os.kill(os.getpid(), _stopped_by)


_stopped_by: int | None = None


def _exit_on_signal(number: int, _frame: object) -> None:
    global _stopped_by  # noqa: PLW0603 - one process, one stop
    _stopped_by = number
    raise SystemExit(128 + number)


def _one_database_for_all(settings: Settings) -> bool:
    """An in-memory SQLite database is each connection's own: the writer process would
    decide into another database than the server reads."""
    if settings.is_sqlite and sqlite_file(settings.database_url) is None:
        err.print("in-memory SQLite: serving in one process (no writer process)")
        return False
    return True


def _start(writer: WriterProcess) -> None:
    try:
        writer.start()
    except WriterFailed as error:
        raise _fail(str(error)) from None


@app.command(hidden=True)
def writer(
    socket_path: Annotated[Path, typer.Option("--socket", help="Unix socket to listen on.")],
    policy_digest: Annotated[
        str, typer.Option(help="The server's policies; refuse to start on others.")
    ],
) -> None:
    """The decision writer process that `serve` starts (ADR 0008); not run by hand. It stops
    when its standard input closes."""
    settings = _settings()
    configure_logging(settings.log_level, json_logs=settings.log_json)
    try:
        run_writer(settings, str(socket_path), expected_policies=policy_digest)
    except PolicyChanged as error:
        raise _fail(str(error), code=3) from None


class _AnnouncingServer(uvicorn.Server):
    """Prints where to look once the server listens, so it is the last thing a newcomer sees."""

    def __init__(self, config: uvicorn.Config, banner: str) -> None:
        super().__init__(config)
        self._banner = banner

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            print(self._banner, file=sys.stderr, flush=True)


def server_config(app: ASGIApp, host: str, port: int, settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        http="httptools",
        loop="uvloop",
        # Clients' addresses from X-Forwarded-For, from these proxies only: behind a load
        # balancer every customer otherwise shares its address, and one network's failed
        # logins would throttle them all.
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


def _welcome(host: str, port: int, settings: Settings) -> str:
    base = f"http://{host}:{port}"
    # Passkeys are bound to a domain name, never an IP address: the pages live on the public URL.
    pages = settings.public_base_url.rstrip("/")
    signup = f"{pages}/auth/signup" if settings.auth_open_signup else "`kabuguard customer create`"
    return (
        f"\nkabuguard is running on {base} (database: {_shown(settings.database_url)})\n"
        f"  API docs       {base}/docs\n"
        f"  Hosted pages   {pages}/auth/login   (new customer: {signup})\n"
        f"  Event schema   {base}/v1/schema/events\n"
        f"  Health         {base}/healthz   {base}/readyz   {base}/metrics\n"
        "  Try first      in another terminal: .venv/bin/kabuguard apikey create demo\n"
        "                 (prints a key once), then POST a login event (README.md, or\n"
        "                 docs/events.md) to /v1/events with 'Authorization: Bearer <key>'\n"
        f"                 or open {signup} in a browser, then add a passkey\n"
        "  Stop           Ctrl+C\n"
    )


def _shown(database_url: str) -> str:
    """The URL without its password: the banner goes to stderr, and so to the journal."""
    return make_url(database_url).render_as_string(hide_password=True)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    migrations.upgrade(_settings().database_url, revision)
    out.print(f"database upgraded to {revision}")


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Argument(help="Who or what uses the key, e.g. web-login.")],
    scope: Annotated[
        list[Scope] | None,
        typer.Option("--scope", help="Repeat for each scope; default: integration scopes."),
    ] = None,
) -> None:
    """Create an API key and print it once; only a keyed hash is stored."""
    pepper = _settings().api_key_pepper.get_secret_value().encode()
    try:
        with _database() as database, database.write() as session:
            token = apikeys.create(
                session,
                name=name,
                scopes=scope or DEFAULT_SCOPES,
                pepper=pepper,
                actor=_actor(),
                at=_now(),
            )
    except ApiKeyError as error:
        raise _fail(str(error)) from None
    err.print("This key is shown once. Store it in your secret manager now:")
    print(token)


@apikey_app.command("list")
def apikey_list() -> None:
    """List API keys (never the keys themselves)."""
    table = Table("name", "key id", "scopes", "created", "revoked")
    with _database() as database, database.read() as session:
        for row in apikeys.list_keys(session):
            revoked = row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else ""
            created = row.created_at.isoformat(timespec="seconds")
            table.add_row(row.name, row.key_id, row.scopes, created, revoked)
    out.print(table)


@apikey_app.command("revoke")
def apikey_revoke(name: str) -> None:
    """Revoke an API key (effective within a few seconds on running servers)."""
    try:
        with _database() as database, database.write() as session:
            apikeys.revoke(session, name=name, actor=_actor(), at=_now())
    except ApiKeyError as error:
        raise _fail(str(error)) from None
    out.print(f"revoked {name}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the whole hash chain; exit non-zero naming the first bad entry."""
    with _database() as database, database.read(snapshot=True) as session:
        report = verify_chain(session)
    if report.first_break is not None:
        raise _fail(f"{report.first_break} (after {report.entries} good entries)", code=2)
    out.print(f"audit chain intact: {report.entries} entries, head {report.last_hash}")


@app.command("replay")
def replay_command(
    events: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="JSON Lines events.")
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--out", help="Where to write one decision per line (replaced once complete)."
        ),
    ],
    policy: Annotated[Path | None, typer.Option(help="Live policy (default: built in).")] = None,
    shadow_policy: Annotated[Path | None, typer.Option(help="Candidate policy to compare.")] = None,
) -> None:
    """Replay historic events through the engine; exits 1 if any line was bad."""
    try:
        live = Policy.from_file(policy) if policy else Policy.default()
        shadow = Policy.from_file(shadow_policy) if shadow_policy else None
    except PolicyError as error:
        raise _fail(str(error)) from None
    _check_output(events, output)

    def report(bad: BadLine) -> None:
        err.print(Text.assemble((f"line {bad.number}:", "yellow"), " ", bad.message))

    columns = (
        *Progress.get_default_columns()[:1],
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    try:
        with (
            events.open("rb") as source,
            _replacing(output) as sink,
            Progress(*columns, console=err) as bar,
        ):
            task = bar.add_task("replaying", total=events.stat().st_size)
            pending = 0

            def advance(size: int) -> None:
                nonlocal pending
                pending += size
                if pending >= 1 << 20:
                    bar.advance(task, pending)
                    pending = 0

            summary = replay(
                lines_of(source), sink, live, shadow, on_bad_line=report, on_progress=advance
            )
            bar.advance(task, pending)
    except OSError as error:
        raise _fail(f"{error.filename or output}: {error.strerror or error}") from None
    _print_summary(summary, live, shadow)
    if summary.bad_lines:
        raise typer.Exit(1)


def _check_output(events: Path, output: Path) -> None:
    """Refuse an --out that cannot take the decisions before anything is read."""
    if output.is_dir():
        raise _fail(f"--out {output} is a directory: name a file in it")
    if not output.parent.is_dir():
        raise _fail(f"--out {output}: the directory {output.parent} does not exist")
    try:
        same = output.exists() and os.path.samefile(events, output)
    except OSError as error:
        raise _fail(f"--out {output}: {error.strerror or error}") from None
    if same:
        raise _fail(f"--out {output} is the events file itself: write the decisions elsewhere")


@contextmanager
def _replacing(path: Path) -> Iterator[BinaryIO]:
    """A new file beside `path` that takes its place once written whole, and is removed if
    writing fails or is interrupted: `path` is never left half written, or emptied before
    the replay has read it."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
    try:
        with os.fdopen(descriptor, "wb") as sink:
            yield sink
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _print_summary(summary: ReplaySummary, live: Policy, shadow: Policy | None) -> None:
    table = Table(
        "outcome", f"live ({live.version})", *([f"shadow ({shadow.version})"] if shadow else [])
    )
    for outcome in ("allow", "challenge", "hold", "deny"):
        row = [outcome, str(summary.outcomes[outcome])]
        if shadow:
            row.append(str(summary.shadow_outcomes[outcome]))
        table.add_row(*row)
    out.print(table)
    reasons = Table("count")
    reasons.add_column("top reasons", no_wrap=True)
    for code, count in summary.reasons.most_common(10):
        reasons.add_row(str(count), code)
    out.print(reasons)
    if shadow:
        changed = sum(summary.changed.values())
        out.print(f"shadow policy changed {changed} of {summary.events} outcomes")
    out.print(f"{summary.events} events decided, {summary.bad_lines} bad lines")


@contextmanager
def _lists(*, write: bool) -> Iterator[ListService]:
    """The list service in one transaction of the configured database."""
    with _database() as database, database.write() if write else database.read() as session:
        yield ListService(session, actor=_actor(), at=_now())


@halt_app.command("add")
def halt_add(
    symbol: str,
    market: Annotated[str, typer.Option(help="Market code, e.g. TSE.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")],
    until: Annotated[
        datetime | None, typer.Option(help="ISO time with zone; default: until lifted.")
    ] = None,
) -> None:
    """Stop new buy orders in SYMBOL at once."""
    body = _valid(HaltIn, symbol=symbol, market=market, reason=reason, until=_aware(until))
    halt = SymbolHalt(body.symbol, body.market, body.reason, body.until)
    with _lists(write=True) as lists:
        lists.halt(halt)
    out.print(f"buying {halt.market}:{halt.symbol} is halted")


@halt_app.command("remove")
def halt_remove(symbol: str, market: Annotated[str, typer.Option()]) -> None:
    """Lift a buy-halt. SYMBOL is taken as typed (upper-cased), so that an entry stored
    before symbols were checked can still be lifted."""
    try:
        with _lists(write=True) as lists:
            lists.lift(symbol.upper(), market.upper())
    except StateError as error:
        raise _fail(str(error)) from None
    out.print(f"halt on {market.upper()}:{symbol.upper()} lifted")


@halt_app.command("list")
def halt_list() -> None:
    """Show active buy-halts."""
    with _lists(write=False) as lists:
        halts = lists.halts()
    table = Table("market", "symbol", "reason", "until")
    for halt in halts:
        table.add_row(
            halt.market,
            halt.symbol,
            halt.reason,
            halt.until.isoformat() if halt.until else "lifted by hand",
        )
    out.print(table)


@block_app.command("add")
def block_add(
    network: Annotated[str, typer.Argument(help="Address or CIDR network.")],
    reason: Annotated[str, typer.Option()],
    until: Annotated[datetime | None, typer.Option(help="ISO time with zone.")] = None,
) -> None:
    """Refuse customer actions from NETWORK (an IPv4-mapped IPv6 one is stored as IPv4)."""
    body = _valid(BlockIn, network=network, reason=reason, until=_aware(until))
    blocked = BlockedNetwork(ip_network(body.network), body.reason, body.until)
    with _lists(write=True) as lists:
        lists.block(blocked)
    out.print(f"{blocked.network} is blocked")


@block_app.command("remove")
def block_remove(network: str) -> None:
    """Remove a network from the block list."""
    parsed = _network(network)
    try:
        with _lists(write=True) as lists:
            lists.unblock(parsed)
    except StateError as error:
        raise _fail(str(error)) from None
    out.print(f"{parsed} is no longer blocked")


@block_app.command("list")
def block_list() -> None:
    """Show blocked networks."""
    with _lists(write=False) as lists:
        blocked = lists.blocked()
    table = Table("network", "reason", "until")
    for entry in blocked:
        table.add_row(
            str(entry.network),
            entry.reason,
            entry.until.isoformat() if entry.until else "removed by hand",
        )
    out.print(table)


@app.command()
def bench(
    seconds: Annotated[float, typer.Option(help="Measured seconds per HTTP run.")] = 10.0,
    warmup: Annotated[float, typer.Option(help="Unmeasured warm-up seconds per run.")] = 2.0,
    connections: Annotated[int, typer.Option(help="Closed-loop connections.")] = 32,
    replay_events: Annotated[int, typer.Option(help="Events for the replay run.")] = 200_000,
    repeat: Annotated[int, typer.Option(min=1, help="HTTP runs each; the median is shown.")] = 3,
    database_url: Annotated[
        str | None, typer.Option(help="Benchmark this database (default: a fresh SQLite file).")
    ] = None,
    out_dir: Annotated[Path, typer.Option(help="Where latest.json goes.")] = Path("var/bench"),
) -> None:
    """Measure replay events/s, HTTP decisions/s and latency, and a bare echo baseline."""
    options = BenchOptions(
        out_dir,
        seconds=seconds,
        warmup=warmup,
        connections=connections,
        replay_events=replay_events,
        database_url=database_url,
        repeat=repeat,
    )
    results = run_bench(options)
    _print_bench(results, out_dir / "latest.json")


def _target(text: str, met: bool) -> Text:
    return Text.assemble(f"{text} ", ("meets", "green") if met else ("misses", "red"))


def _print_bench(results: dict[str, Any], path: Path) -> None:
    verdict = results["verdict"]
    http, echo = results["http"], results["echo"]
    table = Table("measure", f"value (median of {results['http']['repeat']} runs)", "target")
    table.add_row(
        "replay, in process",
        f"{results['replay']['events_per_s']:,} events/s",
        _target(">= 20,000", verdict["replay_events_per_s"]),
    )
    simulated = results["simulate"]
    table.add_row(
        f"simulate, {simulated['customers']:,} customers x {simulated['days']} days",
        f"{simulated['events_per_s']:,.0f} events/s  peak {simulated['peak_rss_mib']:,.0f} MiB",
        _target(">= 200,000", verdict["simulate_events_per_s"]),
    )
    closed = http["closed_loop"]
    table.add_row(
        f"HTTP decisions ({http['database']}), closed loop",
        f"{closed['throughput_per_s']:,.0f}/s  p50 {closed['p50_ms']:.1f} ms  "
        f"p99 {closed['p99_ms']:.1f} ms  errors {closed['errors']}",
        _target(">= 2,000/s", verdict["http_decisions_per_s"]),
    )
    opened = http["open_loop_500"]
    table.add_row(
        "HTTP decisions at 500/s",
        f"p50 {opened['p50_ms']:.1f} ms  p99 {opened['p99_ms']:.1f} ms  errors {opened['errors']}",
        _target("p99 <= 20 ms", verdict["http_p99_ms_at_500_per_s"]),
    )
    smtp, outbox = results["notifications"]["smtp"], results["notifications"]["outbox"]
    table.add_row(
        "e-mails delivered to a local SMTP server",
        f"{smtp['emails_per_s']:,}/s  ({smtp['dispatcher_cpu_ms_per_email']} ms CPU each)",
        _target(">= 500/s", verdict["emails_per_s"]),
    )
    table.add_row(
        "outbox rows written with decisions",
        f"{outbox['outbox_rows_per_s']:,} rows/s  ({outbox['decisions_per_s']:,} decisions/s)",
        "",
    )
    login, order = results["decisions"]["login"], results["decisions"]["order"]
    table.add_row(
        f"login decision in process ({login['logins']:,} logins)",
        f"CPU p50 {login['cpu_p50_ms']:.3f} ms  p99 {login['cpu_p99_ms']:.3f} ms  "
        f"(wall p99 {login['wall_p99_ms']:.3f} ms)",
        _target("p99 <= 2 ms", verdict["login_decision_p99_ms"]),
    )
    table.add_row(
        f"order decision in process ({order['orders']:,} orders)",
        f"p50 {order['p50_ms']:.3f} ms  p99 {order['p99_ms']:.3f} ms",
        _target("p99 <= 2 ms", verdict["order_decision_p99_ms"]),
    )
    auth = results["auth"]
    table.add_row(
        "password / passkey verifications",
        f"{auth['password_verifications_per_second']:,.1f}/s  "
        f"{auth['passkey_assertion_verifications_per_second']:,.0f}/s",
        "argon2id m=19 MiB t=2",
    )
    table.add_row(
        "bare FastAPI echo, closed loop",
        f"{echo['throughput_per_s']:,.0f}/s  p99 {echo['p99_ms']:.1f} ms",
        f"engine/echo = {results['engine_to_echo_ratio']:.2f}",
    )
    out.print(table)
    out.print(f"written to {path}")


simulate_commands.register(app)
scoreboard_commands.register(app)
notification_commands.register(app)
auth_commands.register(app)
case_commands.register(app)
reference_commands.register(app)
credential_commands.register(app)


def main() -> None:
    try:
        app()
    except (PolicyError, ValidationError) as error:
        err.print(_error(str(error)))
        sys.exit(1)
    except (OperationalError, ProgrammingError) as error:
        problem = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        err.print(
            _error(
                f"the database is unreachable or not migrated ({problem}); "
                "run `kabuguard db upgrade` and check KABUGUARD_DATABASE_URL"
            )
        )
        sys.exit(1)
