"""Simulator throughput for `kabuguard bench`: events per second and peak memory.

The run happens in a child process so its peak resident memory is its own, not the caller's
(which may have loaded a server, a database and earlier runs). Events per second counts the
whole run, from building the population to the last byte written.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kabuguard.simulate.presets import PRESETS
from kabuguard.simulate.run import RunOptions, simulate

BENCH_PRESET = "2025-04"


def measure(customers: int, days: int, seed: int) -> dict[str, float]:
    """Run the simulator once into a temporary directory; return its figures."""
    probe = f"from kabuguard.simulate.bench import _child; _child({customers}, {days}, {seed})"
    result = subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=3600
    )
    figures: dict[str, float] = json.loads(result.stdout)
    return figures


def _child(customers: int, days: int, seed: int) -> None:
    with tempfile.TemporaryDirectory(prefix="kabuguard-sim-") as directory:
        began = time.perf_counter()
        result = simulate(RunOptions(customers, days, seed, PRESETS[BENCH_PRESET], Path(directory)))
        seconds = time.perf_counter() - began
        written = sum(path.stat().st_size for path in Path(directory).iterdir())
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    figures = {
        "customers": customers,
        "days": days,
        "events": result.events,
        "seconds": round(seconds, 3),
        "events_per_s": round(result.events / seconds),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "written_mib": round(written / 2**20, 1),
    }
    print(json.dumps(figures))
