"""The pure hash chain: canonical encoding, and verify() on hand-built lists of entries."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from kabuguard.audit.chain import (
    GENESIS_HASH,
    Break,
    Entry,
    canonical,
    canonical_text,
    entry_hash,
    verify,
)

T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def _entry(seq: int, prev_hash: str, payload: str | None = None) -> Entry:
    recorded_at = T0 + timedelta(seconds=seq)
    text = payload if payload is not None else canonical_text({"n": seq, "ok": True})
    kind, actor, subject = "decision:recorded", "apikey:broker-a", f"evt-{seq}"
    digest = entry_hash(
        seq=seq,
        recorded_at=recorded_at,
        kind=kind,
        actor=actor,
        subject=subject,
        payload=text,
        prev_hash=prev_hash,
    )
    return Entry(seq, recorded_at, kind, actor, subject, text, prev_hash, digest)


def _hash_of(entry: Entry) -> str:
    """The hash entry_hash gives the entry's fields (whatever its stored hash says)."""
    return entry_hash(
        seq=entry.seq,
        recorded_at=entry.recorded_at,
        kind=entry.kind,
        actor=entry.actor,
        subject=entry.subject,
        payload=entry.payload,
        prev_hash=entry.prev_hash,
    )


def _chain(length: int) -> list[Entry]:
    entries: list[Entry] = []
    prev = GENESIS_HASH
    for seq in range(1, length + 1):
        entries.append(_entry(seq, prev))
        prev = entries[-1].hash
    return entries


def _head(entries: list[Entry]) -> tuple[int, str]:
    return (entries[-1].seq, entries[-1].hash) if entries else (0, GENESIS_HASH)


def _break(entries: list[Entry], head: tuple[int, str] | None) -> Break:
    report = verify(entries, head)
    assert not report.intact
    assert report.first_break is not None
    return report.first_break


# Canonical encoding


def test_canonical_encoding_is_key_order_independent() -> None:
    one = {"b": 1, "a": {"y": [1, 2], "x": "ア"}, "c": None}
    two = {"c": None, "a": {"x": "ア", "y": [1, 2]}, "b": 1}
    assert canonical(one) == canonical(two)
    assert canonical_text(one) == '{"a":{"x":"ア","y":[1,2]},"b":1,"c":null}'


def test_canonical_encoding_refuses_floats_and_drops_spacing() -> None:
    with pytest.raises(TypeError, match="no floats"):
        canonical({"n": 1.0, "m": 100})
    with pytest.raises(TypeError, match="no floats"):
        canonical({"outer": [{"inner": 0.5}]})
    assert canonical({"n": "1.0", "m": 100}) == b'{"m":100,"n":"1.0"}'
    assert json.loads(canonical_text({"k": "v"})) == {"k": "v"}


def test_canonical_encoding_refuses_values_json_cannot_carry() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        canonical({"amount": Decimal("1.5")})
    with pytest.raises(TypeError, match="no floats"):
        canonical({"score": float("nan")})


def test_entry_hash_is_independent_of_the_payloads_key_order() -> None:
    one = _entry(1, GENESIS_HASH, canonical_text({"a": 1, "b": 2}))
    two = _entry(1, GENESIS_HASH, canonical_text({"b": 2, "a": 1}))
    assert one.hash == two.hash


def test_entry_hash_depends_on_every_field() -> None:
    base = Entry(1, T0, "decision:recorded", "a", "s", "{}", GENESIS_HASH, "")
    reference = _hash_of(base)
    assert len(reference) == 64
    assert int(reference, 16) >= 0
    changed = [
        dataclasses.replace(base, seq=2),
        dataclasses.replace(base, recorded_at=T0 + timedelta(microseconds=1)),
        dataclasses.replace(base, kind="policy:activated"),
        dataclasses.replace(base, actor="b"),
        dataclasses.replace(base, subject="t"),
        dataclasses.replace(base, payload='{"x":1}'),
        dataclasses.replace(base, prev_hash="1" * 64),
    ]
    hashes = {_hash_of(entry) for entry in changed}
    assert reference not in hashes
    assert len(hashes) == len(changed)


def test_entry_hash_depends_on_the_written_zone_of_recorded_at() -> None:
    """The stored instant is hashed as written: storage must hand back the same zone (UTC)."""
    jst = T0.astimezone(timezone(timedelta(hours=9)))
    assert jst == T0
    base = Entry(1, T0, "k", "a", "s", "{}", GENESIS_HASH, "")
    assert _hash_of(base) != _hash_of(dataclasses.replace(base, recorded_at=jst))


# verify()


def test_intact_chain_verifies() -> None:
    entries = _chain(5)
    report = verify(entries, _head(entries))
    assert report.intact
    assert report.first_break is None
    assert report.entries == 5
    assert report.last_hash == entries[-1].hash
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]


def test_empty_chain_verifies_with_or_without_a_head() -> None:
    assert verify([], None).intact
    assert verify([], (0, GENESIS_HASH)).intact
    assert verify([], None).last_hash == GENESIS_HASH


@pytest.mark.parametrize("field", ["payload", "actor", "subject", "kind", "recorded_at"])
def test_modification_is_detected_at_the_modified_entry(field: str) -> None:
    entries = _chain(5)
    value: Any = (
        entries[2].recorded_at + timedelta(seconds=1) if field == "recorded_at" else "tampered"
    )
    entries[2] = dataclasses.replace(entries[2], **{field: value})
    found = _break(entries, _head(entries))
    assert found.seq == 3
    assert "modified" in found.problem
    assert str(found).startswith("audit entry 3:")


def test_modification_with_a_recomputed_hash_is_detected_at_the_next_entry() -> None:
    entries = _chain(5)
    forged = _entry(3, entries[1].hash, canonical_text({"n": 3, "ok": False}))
    entries[2] = forged
    found = _break(entries, _head(entries))
    assert found.seq == 4
    assert "previous-hash" in found.problem


def test_rewritten_last_entry_is_caught_by_the_head() -> None:
    entries = _chain(5)
    head = _head(entries)
    entries[4] = _entry(5, entries[3].hash, canonical_text({"n": 5, "ok": False}))
    report = verify(entries, head)
    assert not report.intact
    assert report.entries == 5


def test_rewritten_last_entry_is_named_by_the_break() -> None:
    entries = _chain(5)
    head = _head(entries)
    entries[4] = _entry(5, entries[3].hash, canonical_text({"n": 5, "ok": False}))
    assert _break(entries, head).seq == 5  # actually 6, an entry that does not exist


def test_deletion_in_the_middle_is_detected() -> None:
    entries = _chain(5)
    head = _head(entries)
    del entries[1]
    found = _break(entries, head)
    assert found.seq == 3  # the first entry that no longer follows...
    assert "expected entry 2" in found.problem  # ...and the message names the missing one
    assert verify(entries, head).entries == 1


def test_deletion_of_the_first_entry_is_detected() -> None:
    entries = _chain(5)
    head = _head(entries)
    del entries[0]
    found = _break(entries, head)
    assert found.seq == 2
    assert "expected entry 1" in found.problem


@pytest.mark.parametrize("removed", [1, 2])
def test_deletion_at_the_tail_is_detected_through_the_head(removed: int) -> None:
    entries = _chain(5)
    head = _head(entries)
    del entries[-removed:]
    report = verify(entries, head)
    assert report.first_break is not None
    assert report.first_break.seq == 5 - removed + 1
    assert "head records entry 5" in report.first_break.problem
    assert report.entries == 5 - removed


def test_deleting_everything_is_detected_through_the_head() -> None:
    entries = _chain(3)
    found = _break([], _head(entries))
    assert found.seq == 1


def test_tail_deletion_without_a_head_goes_unnoticed() -> None:
    """Why the head exists: the chain alone cannot see entries cut from the end."""
    entries = _chain(5)
    assert verify(entries[:3], _head(entries[:3])).intact


def test_insertion_is_detected() -> None:
    entries = _chain(5)
    forged = _entry(3, entries[1].hash, canonical_text({"forged": True}))
    entries.insert(2, forged)
    found = _break(entries, _head(entries))
    assert found.seq == 3
    assert "expected entry 4" in found.problem


def test_insertion_with_a_bad_link_is_detected_at_the_forged_entry() -> None:
    entries = _chain(5)
    forged = _entry(3, "f" * 64)
    entries = [*entries[:2], forged, *(dataclasses.replace(e, seq=e.seq + 1) for e in entries[2:])]
    found = _break(entries, _head(entries))
    assert found.seq == 3
    assert "previous-hash" in found.problem


def test_appending_a_badly_linked_entry_beyond_the_head_is_detected() -> None:
    entries = _chain(5)
    head = _head(entries)
    entries.append(_entry(6, "e" * 64))
    found = _break(entries, head)
    assert found.seq == 6
    assert "previous-hash" in found.problem


def test_appending_a_well_formed_entry_beyond_the_head_is_detected() -> None:
    entries = _chain(5)
    head = _head(entries)
    entries.append(_entry(6, entries[-1].hash))
    report = verify(entries, head)
    assert not report.intact
    assert report.entries == 6


def test_appending_a_well_formed_entry_beyond_the_head_names_the_forged_entry() -> None:
    entries = _chain(5)
    head = _head(entries)
    entries.append(_entry(6, entries[-1].hash))
    assert _break(entries, head).seq == 6  # actually 7, an entry that does not exist


def test_reordering_is_detected() -> None:
    entries = _chain(5)
    entries[1], entries[2] = entries[2], entries[1]
    found = _break(entries, _head(entries))
    assert found.seq == 3
    assert "expected entry 2" in found.problem


def test_reordering_contents_under_the_original_numbers_is_detected() -> None:
    entries = _chain(5)
    two, three = entries[1], entries[2]
    entries[1] = dataclasses.replace(three, seq=2)
    entries[2] = dataclasses.replace(two, seq=3)
    found = _break(entries, _head(entries))
    assert found.seq == 2
    assert "previous-hash" in found.problem


def test_altered_head_is_detected() -> None:
    entries = _chain(5)
    found = _break(entries, (5, "0" * 64))
    assert "head" in found.problem
    found = _break(entries, (3, entries[2].hash))
    assert "head" in found.problem


def test_verify_accepts_any_iterable_and_stops_at_the_first_break() -> None:
    entries = _chain(5)
    entries[1] = dataclasses.replace(entries[1], payload="x")
    entries[3] = dataclasses.replace(entries[3], payload="y")
    report = verify(iter(entries), _head(entries))
    assert report.first_break is not None
    assert report.first_break.seq == 2
    assert report.entries == 1
    assert report.last_hash == entries[0].hash
