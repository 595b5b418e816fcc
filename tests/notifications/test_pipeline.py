"""The pipeline fits recording and rendering into a channel's waits, and keeps their order."""

from __future__ import annotations

from functools import partial

import pytest

from kabuguard.notifications.pipeline import Interrupted, Pipeline


class Journal:
    """Records what the pipeline did, in order, so a test can read the interleaving."""

    def __init__(self) -> None:
        self.entries: list[str] = []

    def prepare(self, item: str) -> str:
        self.entries.append(f"prepare {item}")
        return item.upper()

    def recorder(self, item: str) -> int:
        self.entries.append(f"record {item}")
        return len(item)


def send(pipeline: Pipeline[str, str, int], journal: Journal, message: str, waits: int) -> None:
    """A staged channel: a few waits, the hand-over, then the content and one more wait."""
    for _ in range(waits):
        pipeline.meanwhile()
    pipeline.handover()
    journal.entries.append(f"hand over {message}")
    pipeline.meanwhile()


def test_the_previous_outcome_is_recorded_in_the_first_wait_then_the_next_item_prepared() -> None:
    journal = Journal()
    items = ["a", "b", "c"]
    pipeline: Pipeline[str, str, int] = Pipeline(items, journal.prepare)
    for index, item in enumerate(items):
        send(pipeline, journal, pipeline.start(index), waits=3)
        pipeline.finish(partial(journal.recorder, item))
    pipeline.settle()
    assert journal.entries == [
        "prepare a",
        "prepare b",  # while a's commands are with the server
        "hand over A",
        "record a",  # in b's first wait: before b is handed over
        "prepare c",
        "hand over B",
        "record b",
        "hand over C",
        "record c",  # at the end of the batch
    ]
    assert pipeline.results == [1, 1, 1]


def test_without_waits_the_outcome_is_recorded_at_the_hand_over() -> None:
    journal = Journal()
    pipeline: Pipeline[str, str, int] = Pipeline(["a", "b"], journal.prepare)
    pipeline.start(0)
    pipeline.finish(lambda: journal.recorder("a"))
    pipeline.start(1)
    pipeline.handover()
    journal.entries.append("hand over B")
    assert journal.entries == ["prepare a", "prepare b", "record a", "hand over B"]


def test_a_failed_record_during_a_send_is_an_interruption_not_the_channels_failure() -> None:
    def failing() -> int:
        raise OSError("disk full")

    pipeline: Pipeline[str, str, int] = Pipeline(["a", "b"], str.upper)
    pipeline.start(0)
    pipeline.finish(failing)
    pipeline.start(1)
    with pytest.raises(Interrupted) as raised:
        pipeline.handover()
    assert isinstance(raised.value.__cause__, OSError)
    pipeline.finish(failing)
    with pytest.raises(OSError, match="disk full"):  # outside a channel: the error itself
        pipeline.settle()
