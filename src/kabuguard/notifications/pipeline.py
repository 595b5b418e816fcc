"""A claimed batch handled in order, with the dispatcher's own work fitted into a channel's waits.

Sending one e-mail is four round trips to the SMTP server; recording the previous e-mail's
outcome and rendering the next one are done while the server works on them (`meanwhile`),
instead of before and after. The order that bounds re-sends is kept: an outcome is committed
before the next message is handed over (`handover`), so a dispatcher killed at any point
leaves at most one message accepted but not recorded. One thread does everything: threads
sending in parallel spent more CPU handing the GIL over than they saved (measured).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Prepared = TypeVar("Prepared")
Result = TypeVar("Result")


class Interrupted(Exception):
    """Recording an outcome failed while a channel waited; the message being sent was not
    handed over. The dispatcher stops the batch: its rows are due again when their leases end."""


class Pipeline(Generic[Item, Prepared, Result]):
    """The `Turn` a staged channel is given; `prepare` must not raise (return the failure)."""

    def __init__(self, items: Sequence[Item], prepare: Callable[[Item], Prepared]) -> None:
        self._items = items
        self._prepare = prepare
        self._ahead: dict[int, Prepared] = {}
        self._current = -1
        self._record: Callable[[], Result] | None = None
        self.results: list[Result] = []

    def start(self, index: int) -> Prepared:
        """Item `index`, prepared: ahead of time if a wait allowed it, else now."""
        self._current = index
        if index in self._ahead:
            return self._ahead.pop(index)
        return self._prepare(self._items[index])

    def finish(self, record: Callable[[], Result]) -> None:
        """Record the current item's outcome at the next wait or hand-over, or at `settle`."""
        self.settle()
        self._record = record

    def settle(self) -> None:
        """Record the outcome still pending, now."""
        record, self._record = self._record, None
        if record is not None:
            self.results.append(record())

    def meanwhile(self) -> None:
        if self._record is not None:  # first: it must be done before the hand-over anyway
            self._settle_for_channel()
            return
        following = self._current + 1
        if following < len(self._items) and following not in self._ahead:
            self._ahead[following] = self._prepare(self._items[following])

    def handover(self) -> None:
        self._settle_for_channel()

    def _settle_for_channel(self) -> None:
        """Settle inside a channel's send: a failure must not pass for the channel's own."""
        try:
            self.settle()
        except Exception as error:
            raise Interrupted(f"recording an outcome failed: {error!r}") from error
