"""Running the installed `kabuguard` command against a test database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

KABUGUARD = str(Path(sys.executable).parent / "kabuguard")


def run_cli(
    *args: str, database_url: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"KABUGUARD_DATABASE_URL": database_url, "COLUMNS": "200"}
    return subprocess.run(
        [KABUGUARD, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )
