"""Opaque identifiers (sessions, devices, orders, ...) that never collide and reveal nothing.

An id is a namespace and a counter passed through the splitmix64 finaliser, a bijection on
64-bit integers: distinct inputs give distinct ids, and an attacker's session id looks like
any customer's, so a detector cannot learn the labels from the id format.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import numpy.typing as npt

_MASK = (1 << 64) - 1
_C1, _C2, _GOLDEN = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0x9E3779B97F4A7C15


class Space(IntEnum):
    SESSION = 1
    DEVICE = 2
    ORDER = 3
    WITHDRAWAL = 4
    DESTINATION = 5
    ATTACK_SESSION = 6
    ATTACK_DEVICE = 7
    ATTACK_ORDER = 8
    ATTACK_WITHDRAWAL = 9
    ATTACK_DESTINATION = 10


def mix(space: Space, counter: int) -> int:
    z = ((space << 56) ^ counter) + _GOLDEN & _MASK
    z = (z ^ (z >> 30)) * _C1 & _MASK
    z = (z ^ (z >> 27)) * _C2 & _MASK
    return z ^ (z >> 31)


def mix_array(space: Space, counters: npt.NDArray[np.integer]) -> npt.NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        z = (np.uint64(space << 56) ^ counters.astype(np.uint64)) + np.uint64(_GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(_C1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(_C2)
        return z ^ (z >> np.uint64(31))


def text(prefix: str, key: int) -> str:
    return f"{prefix}{key:016x}"


def texts(prefix: str, keys: npt.NDArray[np.uint64], suffix: str = "") -> list[str]:
    """`text` for many keys at once (hex through bytes: no Python integer per key)."""
    digits = keys.astype(">u8").tobytes().hex()
    return [prefix + digits[i : i + 16] + suffix for i in range(0, len(digits), 16)]


def device_counter(customer: int, generation: int, *, phone: bool) -> int:
    """Desktop is generation 0; each phone the customer owns gets its own device id."""
    return customer << 9 | (generation + 1 if phone else 0)
