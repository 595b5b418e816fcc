"""The scoreboard is tooling around the engine: it must not pull in the web or storage stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("fastapi", "starlette", "sqlalchemy", "alembic", "uvicorn", "httpx")

_PROBE = """
import importlib, json, pkgutil, sys
import kabuguard.scoreboard as scoreboard
for info in pkgutil.walk_packages(scoreboard.__path__, prefix="kabuguard.scoreboard."):
    importlib.import_module(info.name)
print(json.dumps(sorted(n for n in sys.modules if n.split(".")[0] in %r)))
"""


def test_importing_the_scoreboard_loads_no_web_or_storage_framework() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE % (FORBIDDEN,)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
