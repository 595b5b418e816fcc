"""SMS and push through the broker's gateways: a signed JSON POST per message.

The gateway answers 2xx once it has taken the message. It should drop repeats by the
`Idempotency-Key` header (a message is re-sent if we could not record its delivery) and
verify `X-Kabuguard-Signature` with `kabuguard.notifications.signing.verify_signature`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx
import orjson

from kabuguard.notifications.contacts import mask_tail, masked_in, normalise_phone
from kabuguard.notifications.interfaces import (
    InvalidContact,
    OutboundMessage,
    PermanentFailure,
    TransientFailure,
)
from kabuguard.notifications.kinds import ChannelKind
from kabuguard.notifications.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign

_RETRYABLE = frozenset({408, 425, 429})  # 4xx that mean "later", not "never"


class WebhookChannel:
    def __init__(
        self,
        url: str,
        secret: bytes,
        *,
        timeout: float,
        clock: Callable[[], datetime],
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = url
        self._secret = secret
        self._clock = clock
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def send(self, message: OutboundMessage) -> None:
        body = orjson.dumps(_payload(message))
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: message.idempotency_key,
            SIGNATURE_HEADER: sign(self._secret, body, int(self._clock().timestamp())),
        }
        try:
            response = self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise TransientFailure(
                f"gateway unreachable: {type(error).__name__}: {error}"
            ) from None
        status = response.status_code
        if status < 300:
            return
        reason = f"gateway answered {status}: {_masked(response.text[:200], message)}"
        if status >= 500 or status in _RETRYABLE:
            raise TransientFailure(reason, retry_after=_retry_after(response))
        raise PermanentFailure(reason)

    def close(self) -> None:
        self._client.close()


def _payload(message: OutboundMessage) -> dict[str, object]:
    to = message.recipient
    if message.channel is ChannelKind.SMS:
        try:
            to = normalise_phone(message.recipient)
        except InvalidContact as error:  # its text names no number: the reason is logged
            raise PermanentFailure(f"invalid phone number: {error}") from None
    return {
        "idempotency_key": message.idempotency_key,
        "channel": message.channel.value,
        "to": to,
        "customer_id": message.customer_id,
        "kind": message.kind.value,
        "locale": message.locale.value,
        "subject": message.subject,
        "text": message.text,
        "occurred_at": message.occurred_at.isoformat(),
    }


def _masked(text: str, message: OutboundMessage) -> str:
    """A gateway's answer may quote the number; the reason is logged and kept on the row."""
    if message.channel is not ChannelKind.SMS:
        return text
    for number in {message.recipient.strip(), _e164(message.recipient)} - {""}:
        text = masked_in(text, number, mask_tail(number))
    return text


def _e164(number: str) -> str:
    try:
        return normalise_phone(number)
    except InvalidContact:
        return ""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None
