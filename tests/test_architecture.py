"""The purity contract: the risk core imports no web, storage or network framework."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("fastapi", "starlette", "sqlalchemy", "redis", "httpx")

_PROBE = """
import importlib, json, pkgutil, sys
import kabuguard.risk as risk
names = ["kabuguard.risk"]
for info in pkgutil.walk_packages(risk.__path__, prefix="kabuguard.risk."):
    importlib.import_module(info.name)
    names.append(info.name)
forbidden = %r
loaded = sorted(
    name for name in sys.modules if name.split(".")[0] in forbidden
)
print(json.dumps({"modules": names, "loaded": loaded}))
"""


def test_import_linter_contracts_hold() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The risk core stays pure" in result.stdout
    assert "KEPT" in result.stdout
    assert "BROKEN" not in result.stdout


def _run_probe(probe: str) -> subprocess.CompletedProcess[str]:
    """Run an import probe in a fresh interpreter, so nothing this test process loaded counts."""
    return subprocess.run(
        [sys.executable, "-c", probe % (FORBIDDEN,)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_importing_the_risk_core_loads_no_framework() -> None:
    result = _run_probe(_PROBE)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    modules = set(report["modules"])
    assert {
        "kabuguard.risk.engine",
        "kabuguard.risk.events",
        "kabuguard.risk.policy",
        "kabuguard.risk.rules.access",
        "kabuguard.risk.rules.payout",
        "kabuguard.risk.rules.trading",
    } <= modules
    assert report["loaded"] == []


def test_probe_would_notice_a_framework_import() -> None:
    """The subprocess check is not vacuous: importing a framework shows up in sys.modules."""
    probe = _PROBE.replace("import kabuguard.risk as risk", "import httpx, kabuguard.risk as risk")
    result = _run_probe(probe)
    assert result.returncode == 0, result.stderr
    assert "httpx" in json.loads(result.stdout)["loaded"]
