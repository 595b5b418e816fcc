"""What an attack needs to write its events, and the figures campaigns report to the manifest."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from random import Random
from typing import Protocol

from kabuguard.labels import Campaign
from kabuguard.simulate.accounts import Accounts
from kabuguard.simulate.behaviour import Customers
from kabuguard.simulate.clock import Timestamps
from kabuguard.simulate.market import DayPrices, PriceBook
from kabuguard.simulate.population import Population
from kabuguard.simulate.render import Quotes
from kabuguard.simulate.stream import EventStream


@dataclass
class Ledger:
    """Campaign figures that labels alone do not show (traded value, stuffing tries)."""

    sold_yen: Counter[Campaign] = field(default_factory=Counter)
    bought_yen: Counter[Campaign] = field(default_factory=Counter)
    stuffing_attempts: int = 0
    stuffing_password_successes: int = 0
    pump_waves: int = 0


@dataclass(frozen=True, slots=True)
class Scene:
    stream: EventStream
    stamp: Timestamps
    population: Population
    accounts: Accounts
    book: PriceBook
    quotes: Quotes
    customers: Customers
    ledger: Ledger


class Attack(Protocol):
    @property
    def start(self) -> int: ...

    def run(self, scene: Scene, prices: DayPrices) -> None: ...


def seeded(*parts: object) -> Random:
    """A generator seeded from text (Python hashes str seeds with SHA-512: stable everywhere).

    Simulation randomness, not security: each attack draws from its own stream, so adding an
    attack does not change the others.
    """
    return Random(":".join(str(part) for part in parts))  # noqa: S311
