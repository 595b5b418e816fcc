"""What a server does once at startup so that no request pays for it later."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import TEST_DATA_KEY, TEST_PEPPER

# Run in a fresh interpreter: the test process has frozen (or not) whatever earlier tests built.
SCRIPT = textwrap.dedent(
    """
    import gc, sys
    from starlette.testclient import TestClient
    from kabuguard import migrations
    from kabuguard.app import create_app
    from kabuguard.config import Environment, Settings
    from kabuguard.enrich.network import geo_database
    from kabuguard.notifications.origin import origin_of
    from kabuguard.notifications.kinds import Locale

    url = f"sqlite:///{sys.argv[1]}"
    migrations.upgrade(url)
    settings = Settings(
        database_url=url, environment=Environment.TEST, api_key_pepper=sys.argv[2],
        data_key=sys.argv[3], log_json=False,
    )
    with TestClient(create_app(settings)):
        geo_database()
        origin_of("203.0.113.9", Locale.EN)  # a notice's origin reads the same data
        print("loaded-once", geo_database.cache_info().misses == 1)
        # Frozen objects are out of the collector's sight: neither this copy nor a second one.
        print("in-sight", sum(type(o).__name__ == "GeoIP2Fast" for o in gc.get_objects()))
    """
)


def test_the_network_data_is_loaded_once_at_startup_and_frozen(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "k.db"), TEST_PEPPER, TEST_DATA_KEY],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-3:] == ["loaded-once True", "in-sight 0", ""]
