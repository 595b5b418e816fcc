"""Loader for the public RBA login dataset (Wiefling et al.): its CSV into events and labels.

Each row becomes one `login_attempt` (step password) and one label, streaming, so the 9 GB
file converts in flat memory. Labels (docs/scoreboard.md#the-rba-dataset):

- "Is Account Takeover": the attacker had the password. A successful row is one hijack of its
  own whose goal is that login; a failed one is an attacker try outside any hijack. The dataset
  does not say how the attacker chose network and device, so the campaign is `ato_naive`, the
  model that claims least about the attacker.
- "Is Attack IP" (and no takeover): credential stuffing; a success is a hijack as above.
- Everything else: the customer.

The dataset's own ASN, country and parsed user-agent columns are not carried over (the event
schema has no field for them): the Freeman baseline derives them again from IP and UA.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO, TextIO

import orjson
from pydantic import ValidationError

from kabuguard.decisions.records import event_document
from kabuguard.labels import Actor, AttackerFactor, Campaign
from kabuguard.parsing import event_error
from kabuguard.risk.events import AttemptResult, LoginAttempt, LoginStep

HEADER = (
    "index",
    "Login Timestamp",
    "User ID",
    "Round-Trip Time [ms]",
    "IP Address",
    "Country",
    "Region",
    "City",
    "ASN",
    "User Agent String",
    "Browser Name and Version",
    "OS Name and Version",
    "Device Type",
    "Login Successful",
    "Is Attack IP",
    "Is Account Takeover",
)
TAKEOVER_CAMPAIGN = Campaign.ATO_NAIVE
_MAX_USER_AGENT = 1024  # the event schema's limit; longer strings are cut, consistently
_FLAGS = {"true": True, "1": True, "false": False, "0": False}


class RbaError(ValueError):
    """The file is not the RBA dataset (its header differs)."""


@dataclass(frozen=True, slots=True)
class BadRow:
    line: int
    message: str


@dataclass
class ImportSummary:
    rows: int = 0
    bad_rows: int = 0
    takeovers: int = 0
    stuffing_successes: int = 0


def import_csv(
    source: TextIO,
    events: BinaryIO,
    labels: BinaryIO,
    *,
    on_bad_row: Callable[[BadRow], None] = lambda _row: None,
) -> ImportSummary:
    """Convert the CSV; bad rows are reported with their line number and skipped."""
    reader = csv.reader(source)
    header = next(reader, None)
    if header is None or tuple(header) != HEADER:
        raise RbaError(f"line 1 is not the RBA dataset header; expected: {','.join(HEADER)}")
    summary = ImportSummary()
    for row in reader:
        try:
            event, label = convert_row(row)
        except ValueError as error:
            summary.bad_rows += 1
            on_bad_row(BadRow(reader.line_num, str(error)))
            continue
        summary.rows += 1
        if label["goal"]:
            if label["campaign"] == TAKEOVER_CAMPAIGN:
                summary.takeovers += 1
            else:
                summary.stuffing_successes += 1
        events.write(orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE))
        labels.write(orjson.dumps(label, option=orjson.OPT_APPEND_NEWLINE))
    return summary


def convert_row(row: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """One CSV row as an event document and its label; ValueError names what is wrong."""
    if len(row) != len(HEADER):
        raise ValueError(f"expected {len(HEADER)} fields, found {len(row)}")
    fields = dict(zip(HEADER, row, strict=True))
    success = _flag(fields, "Login Successful")
    try:
        event = LoginAttempt(
            event_id=f"rba-{fields['index'].strip()}",
            occurred_at=_timestamp(fields["Login Timestamp"]),
            customer_id=f"u{fields['User ID'].strip()}",
            ip=fields["IP Address"].strip() or None,
            user_agent=fields["User Agent String"][:_MAX_USER_AGENT] or None,
            step=LoginStep.PASSWORD,
            result=AttemptResult.SUCCESS if success else AttemptResult.FAILURE,
        )
    except ValidationError as error:
        raise ValueError(event_error(error).message) from None
    return event_document(event), _label(event.event_id, fields, success)


def _label(event_id: str, fields: dict[str, str], success: bool) -> dict[str, Any]:
    takeover, attack_ip = _flag(fields, "Is Account Takeover"), _flag(fields, "Is Attack IP")
    label: dict[str, Any] = {
        "event_id": event_id,
        "actor": Actor.CUSTOMER,
        "campaign": None,
        "attack_id": None,
        "goal": False,
        "loss_yen": 0,
        "attacker_has": [],
        "legit_tag": None,
    }
    if not (takeover or attack_ip):
        return label
    campaign = TAKEOVER_CAMPAIGN if takeover else Campaign.STUFFING
    label |= {"actor": Actor.ATTACKER, "campaign": campaign}
    if success:
        label |= {
            "attack_id": f"rba-{campaign}-{fields['index'].strip()}",
            "goal": True,
            "attacker_has": [AttackerFactor.PASSWORD],
        }
    return label


def _flag(fields: dict[str, str], column: str) -> bool:
    value = _FLAGS.get(fields[column].strip().lower())
    if value is None:
        raise ValueError(f"{column} must be True or False, not {fields[column]!r}")
    return value


def _timestamp(text: str) -> datetime:
    """The dataset's times, e.g. 2020-02-03 12:43:30.772, carry no zone: they are UTC."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"Login Timestamp {text!r} is not a time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
