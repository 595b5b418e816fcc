"""Real local servers for the channel tests: an SMTP server (aiosmtpd) and a webhook receiver."""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from kabuguard.notifications.signing import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    InvalidSignature,
    verify_signature,
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP server accepted, parsed; `answer` may refuse a recipient, `answer_content`
    a message once its content has arrived."""

    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    answer: Callable[[str], str] = lambda _recipient: "250 OK"
    answer_content: Callable[[EmailMessage], str] = lambda _message: "250 OK"
    on_message: Callable[[int], None] = lambda _count: None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def keys(self) -> list[str]:
        return [str(m["X-Kabuguard-Idempotency-Key"]) for m in self.messages]

    async def handle_RCPT(
        self, _server: SMTP, _session: Session, envelope: Envelope, address: str, _options: Any
    ) -> str:
        reply = self.answer(address)
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        reply = self.answer_content(parsed)
        if not reply.startswith("250"):
            return reply
        with self.lock:
            self.messages.append(parsed)
            self.recipients += list(envelope.rcpt_tos)
            count = len(self.messages)
        self.on_message(count)
        return "250 OK"


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._controller.stop()


@dataclass
class Gateway:
    """A broker's SMS/push gateway as the docs ask for: verify, drop repeats, then accept."""

    secret: bytes
    statuses: list[int] = field(default_factory=list)  # answers to give first, e.g. [503]
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)
    repeats: int = 0
    refused: list[str] = field(default_factory=list)
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    # A refusal for a verified message (status, body), or None to accept it.
    answer: Callable[[dict[str, Any]], tuple[int, bytes] | None] = lambda _message: None

    def receive(self, headers: Any, body: bytes) -> tuple[int, bytes]:
        if self.statuses:
            return self.statuses.pop(0), b"try later"
        try:
            verify_signature(self.secret, headers.get(SIGNATURE_HEADER, ""), body, self.now())
        except InvalidSignature as error:
            self.refused.append(str(error))
            return 401, str(error).encode()
        if (refusal := self.answer(orjson.loads(body))) is not None:
            return refusal
        key = headers.get(IDEMPOTENCY_HEADER, "")
        if key in self.accepted:
            self.repeats += 1
        else:
            self.accepted[key] = orjson.loads(body)
        return 202, b"{}"


class GatewayServer:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                status, reply = gateway.receive(self.headers, body)
                self.send_response(status)
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_args: object) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> GatewayServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
