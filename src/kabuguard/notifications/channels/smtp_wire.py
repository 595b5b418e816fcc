"""One message's SMTP exchange, with the dispatcher's own work fitted into its waits.

This is smtplib's `sendmail` written out command by command: after each command the server
takes a while to answer (four round trips per message; smtplib and aiosmtpd offer no
PIPELINING), and `turn.meanwhile()` lets the dispatcher record the previous outcome or render
the next message in that time instead of idling. `turn.handover()` comes between DATA's 354
and the content, the last point before the server can accept the message. It raises what
`sendmail` raises, after the same RSET, so a refused message leaves the connection usable.
"""

from __future__ import annotations

import re
import smtplib

from kabuguard.notifications.interfaces import Turn

_LEADING_DOT = re.compile(rb"(?m)^\.")  # RFC 5321 §4.5.2 transparency


def transact(smtp: smtplib.SMTP, sender: str, recipient: str, data: bytes, turn: Turn) -> None:
    """Send `data` (CRLF lines) from `sender` (quoted) to `recipient` (a validated address)."""
    smtp.ehlo_or_helo_if_needed()
    size = f" SIZE={len(data)}" if smtp.has_extn("size") else ""
    code, reply = _command(smtp, turn, "MAIL", f"FROM:{sender}{size}")
    if code != 250:
        _reset(smtp, code)
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    code, reply = _command(smtp, turn, "RCPT", f"TO:<{recipient}>")
    if code not in (250, 251):
        _reset(smtp, code)
        raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
    code, reply = _command(smtp, turn, "DATA")
    if code != 354:
        _reset(smtp, code)
        raise smtplib.SMTPDataError(code, reply)
    turn.handover()
    smtp.send(_LEADING_DOT.sub(b"..", data) + b".\r\n")
    turn.meanwhile()
    code, reply = smtp.getreply()
    if code != 250:
        _reset(smtp, code)
        raise smtplib.SMTPDataError(code, reply)


def _command(smtp: smtplib.SMTP, turn: Turn, name: str, argument: str = "") -> tuple[int, bytes]:
    smtp.putcmd(name, argument)
    turn.meanwhile()
    return smtp.getreply()


def _reset(smtp: smtplib.SMTP, code: int) -> None:
    """As `sendmail`: RSET after a refusal, so the connection serves the next message; a 421
    means the server is closing it. A connection that fails here is closed, not reused."""
    if code == 421:
        smtp.close()
        return
    try:
        smtp.rset()
    except (smtplib.SMTPException, OSError):
        smtp.close()
