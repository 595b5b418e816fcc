"""The RBA dataset loader: a hand-written sample in the dataset's exact CSV format."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kabuguard.parsing import parse_event
from kabuguard.risk.events import LoginAttempt
from kabuguard.scoreboard.rba import HEADER, RbaError, convert_row, import_csv
from tests.scoreboard.test_command import _app

SAMPLE = Path(__file__).parent / "fixtures" / "rba_sample.csv"
USER_A = "u-4324475583306591935"


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_import_writes_one_login_and_one_label_per_row(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["rba", "import", str(SAMPLE), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    assert "11 logins written" in result.stdout
    events, labels = _lines(tmp_path / "events.jsonl"), _lines(tmp_path / "labels.jsonl")
    assert len(events) == len(labels) == 11
    first = parse_event(json.dumps(events[0]).encode())
    assert isinstance(first, LoginAttempt)
    assert (first.event_id, first.customer_id, first.step, first.result) == (
        "rba-0",
        USER_A,
        "password",
        "success",
    )
    assert first.occurred_at == datetime(2020, 2, 3, 12, 43, 30, 772000, tzinfo=UTC)
    assert first.user_agent is not None
    assert "KHTML, like Gecko" in first.user_agent  # a quoted field with commas
    assert labels[0] == {
        "event_id": "rba-0", "actor": "customer", "campaign": None, "attack_id": None,
        "goal": False, "loss_yen": 0, "attacker_has": [], "legit_tag": None,
    }  # fmt: skip
    by_id = {label["event_id"]: label for label in labels}
    assert (by_id["rba-6"]["campaign"], by_id["rba-6"]["attack_id"]) == ("stuffing", None)
    assert by_id["rba-7"]["attack_id"] == "rba-stuffing-7"
    assert (by_id["rba-8"]["campaign"], by_id["rba-8"]["goal"]) == ("ato_naive", False)
    assert by_id["rba-9"] | {"event_id": None} == {
        "event_id": None, "actor": "attacker", "campaign": "ato_naive",
        "attack_id": "rba-ato_naive-9", "goal": True, "loss_yen": 0,
        "attacker_has": ["password"], "legit_tag": None,
    }  # fmt: skip


def test_rba_score_imports_replays_and_scores_in_one_command(tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(_app(), ["rba", "score", str(SAMPLE), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["metadata"]["inputs"] == {"rba_csv": str(SAMPLE)}
    assert len(report["metadata"]["policy_versions"]) == 1
    for campaign in ("stuffing", "ato_naive"):
        assert report["campaigns"][campaign]["hijacks"] == 1
        assert report["campaigns"][campaign]["events"] == 2
        # python-requests (automation), Google's network abroad (hosting, foreign): both stopped.
        assert report["campaigns"][campaign]["stopped"] == 1
        assert report["baselines"]["sms_otp_only"]["campaigns"][campaign]["stopped"] == 1
        # New country, ASN and device for a user with a steady history: Freeman asks for a code.
        assert report["baselines"]["freeman"]["campaigns"][campaign]["stopped"] == 1
    legit = report["baselines"]["freeman"]["legitimate"]
    assert (legit["logins"], legit["logins_challenged"], legit["customers"]) == (7, 0, 2)


def test_bad_rows_are_reported_with_their_line_and_skipped(tmp_path: Path) -> None:
    good = SAMPLE.read_text().splitlines()[1]
    bad_time = good.replace("2020-02-03 12:43:30.772", "yesterday")
    bad_flag = good.replace(",True,False,False", ",Yes,False,False")
    source = tmp_path / "broken.csv"
    source.write_text("\n".join((",".join(HEADER), good, bad_time, "1,2,3", bad_flag)) + "\n")
    result = CliRunner().invoke(_app(), ["rba", "import", str(source), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "broken.csv line 3: Login Timestamp 'yesterday' is not a time" in result.stderr
    assert "line 4: expected 16 fields, found 3" in result.stderr
    assert "line 5: Login Successful must be True or False, not 'Yes'" in result.stderr
    assert "1 logins written" in result.stdout
    assert len(_lines(tmp_path / "events.jsonl")) == 1


def test_a_file_with_another_header_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RbaError, match="line 1 is not the RBA dataset header"):
        import_csv(io.StringIO("a,b\n1,2\n"), io.BytesIO(), io.BytesIO())
    source = tmp_path / "other.csv"
    source.write_text("a,b\n")
    result = CliRunner().invoke(_app(), ["rba", "score", str(source), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "not the RBA dataset header" in result.stderr
    missing = CliRunner().invoke(_app(), ["rba", "import", "nope.csv", "--out", str(tmp_path)])
    assert (missing.exit_code, "RBA dataset file not found: nope.csv") == (
        1,
        missing.stderr.strip().removeprefix("error: "),
    )


def test_an_invalid_field_names_the_schema_problem() -> None:
    row = list(csv.reader(SAMPLE.read_text().splitlines()))[1]
    row[2] = "user with spaces"
    with pytest.raises(ValueError, match="customer_id"):
        convert_row(row)
