"""The auth layer's notices go through issue 7's outbox and render like any other notice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kabuguard.auth.notify import OutboxNotices
from kabuguard.db import Database
from kabuguard.notifications.customers import CustomerSettings
from kabuguard.notifications.dispatcher import Dispatcher
from kabuguard.notifications.interfaces import OutboundMessage
from kabuguard.notifications.kinds import ChannelKind, Locale
from kabuguard.notifications.outbox import Outbox
from kabuguard.notifications.rendering import Broker, Renderer
from kabuguard.notifications.wiring import cipher_from
from tests.auth.conftest import auth_settings

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


class Captured:
    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []

    def send(self, message: OutboundMessage) -> None:
        self.sent.append(message)

    def close(self) -> None:
        """Nothing to release."""


def test_codes_and_pauses_are_delivered_with_a_freeze_link(
    database: Database, database_url: str
) -> None:
    cipher = cipher_from(auth_settings(database_url))
    with database.write() as session:
        CustomerSettings(session, cipher, actor="test", at=NOW).set_contacts(
            "c-1", email="taro@example.com", phone=None, locale=Locale.JA
        )
    woken: list[bool] = []
    notices = OutboxNotices(
        database, cipher, frozenset({ChannelKind.EMAIL}), lambda: woken.append(True)
    )
    in_five = NOW + timedelta(minutes=5)
    assert notices.send_code("c-1", "482913", now=NOW, expires_at=in_five, ip="198.51.100.7")
    assert not notices.send_code("c-2", "482913", now=NOW, expires_at=NOW, ip=None)  # no address
    assert notices.password_paused("c-1", until=NOW + timedelta(minutes=1), ip=None, now=NOW)
    assert woken

    email, inbox = Captured(), Captured()
    dispatcher = Dispatcher(
        Outbox(database, lambda: NOW),
        {ChannelKind.EMAIL: email, ChannelKind.INBOX: inbox},
        Renderer(Broker("Example Securities", "0120-000-000", "https://sec.example")),
        cipher,
        clock=lambda: NOW,
    )
    report = dispatcher.drain()
    assert (report.delivered, report.dead) == (3, 0)
    code_mail = next(m for m in email.sent if "482913" in m.text)
    assert code_mail.recipient == "taro@example.com"
    assert "確認コード: 482913（10:05 まで有効）" in code_mail.text
    assert "https://sec.example/freeze/" in code_mail.text  # "this wasn't me", not a login link
    paused = next(m for m in email.sent if m is not code_mail)
    assert "パスキーでのログインはこの間もご利用いただけます" in paused.text
    assert len(inbox.sent) == 1  # the pause notice; codes go by e-mail only
    assert "482913" not in inbox.sent[0].text
