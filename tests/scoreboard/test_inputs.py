"""Files that do not belong together are refused with a message that says which and where."""

from __future__ import annotations

from pathlib import Path

import pytest

from kabuguard.scoreboard.inputs import InputError, InputPaths
from kabuguard.scoreboard.scoring import score
from tests import factories as f
from tests.scoreboard.builders import Story, attacker, write_lines


def _story() -> Story:
    story = Story()
    story.add(f.login("c-1", 0, event_id="e1"))
    story.add(f.login("c-2", 1, event_id="e2"))
    story.add(f.order("c-2", 2, event_id="e3"))
    return story


def _refused(paths: InputPaths) -> str:
    with pytest.raises(InputError) as refused:
        score(paths)
    return str(refused.value)


def test_an_event_id_mismatch_with_the_labels_names_both_lines(tmp_path: Path) -> None:
    story = _story()
    story.labels[1]["event_id"] = "other"
    message = _refused(story.write(tmp_path))
    assert "event_id mismatch" in message
    assert "events.jsonl line 2 is 'e2'" in message
    assert "labels.jsonl line 2 is 'other'" in message


def test_decisions_for_other_events_are_refused(tmp_path: Path) -> None:
    story = _story()
    story.decisions[2]["event_id"] = "x3"
    message = _refused(story.write(tmp_path))
    assert "events.jsonl line 3 is 'e3'" in message
    assert "decisions.jsonl line 3 is 'x3'" in message
    assert "not made from these events" in message


@pytest.mark.parametrize(
    ("shorten", "expected"),
    [
        ("labels", "labels.jsonl has fewer lines than"),
        ("decisions", "decisions.jsonl has fewer decisions than"),
    ],
)
def test_a_file_that_ends_early_is_refused(tmp_path: Path, shorten: str, expected: str) -> None:
    story = _story()
    getattr(story, shorten).pop()
    message = _refused(story.write(tmp_path))
    assert expected in message
    assert "line 3" in message


@pytest.mark.parametrize("longer", ["labels", "decisions"])
def test_a_file_with_extra_lines_is_refused(tmp_path: Path, longer: str) -> None:
    story = _story()
    paths = story.write(tmp_path)
    extra = getattr(story, longer)[-1] | {"event_id": "e4"}
    write_lines(getattr(paths, longer), [*getattr(story, longer), extra])
    message = _refused(paths)
    assert f"{longer}.jsonl has more" in message
    assert "line 4 has no event" in message


def test_an_event_replay_could_not_parse_needs_no_decision(tmp_path: Path) -> None:
    story = _story()
    paths = story.write(tmp_path)
    broken = {"type": "order", "event_id": "e2b", "occurred_at": f.at(1)}
    write_lines(paths.events, [story.events[0], story.events[1], broken, story.events[2]])
    write_lines(
        paths.labels, [*story.labels[:2], {"event_id": "e2b", "actor": "customer"}, story.labels[2]]
    )
    board = score(paths)
    assert (board.stats.events, board.stats.skipped_events) == (3, 1)
    assert board.stats.skipped_examples[0].number == 3
    assert "customer_id" in board.stats.skipped_examples[0].message


def test_a_decision_for_a_valid_event_cannot_be_missing(tmp_path: Path) -> None:
    story = _story()
    del story.decisions[1]
    message = _refused(story.write(tmp_path))
    assert "events.jsonl line 2 is 'e2' but" in message
    assert "decisions.jsonl line 2 is 'e3'" in message


@pytest.mark.parametrize("which", ["events", "labels", "decisions"])
def test_malformed_json_names_the_file_and_line(tmp_path: Path, which: str) -> None:
    paths = _story().write(tmp_path)
    path: Path = getattr(paths, which)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = b"{not json\n"
    path.write_bytes(b"".join(lines))
    message = _refused(paths)
    assert f"{which}.jsonl line 2" in message
    assert "JSON" in message


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    paths = _story().write(tmp_path)
    paths.decisions.unlink()
    assert _refused(paths) == f"decisions file not found: {paths.decisions}"


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ({"actor": "robot"}, "actor 'robot' is not one of"),
        ({"actor": "customer", "campaign": "pump"}, "cannot carry a campaign"),
        ({"actor": "attacker"}, "needs a campaign"),
        ({"actor": "attacker", "campaign": "pump", "goal": True}, "attack_id is null"),
        ({"actor": "customer", "loss_yen": -1}, "loss_yen must be an integer >= 0"),
        ({"actor": "customer", "legit_tags": "vpn"}, "unknown field(s): legit_tags"),
        ({"actor": "attacker", "campaign": "pump", "attacker_has": ["sim_swap"]}, "attacker_has"),
    ],
)
def test_labels_that_break_the_contract_are_refused(
    tmp_path: Path, label: dict[str, object], expected: str
) -> None:
    story = _story()
    story.labels[1] = {"event_id": "e2", **label}
    message = _refused(story.write(tmp_path))
    assert message.startswith(f"{tmp_path / 'labels.jsonl'} line 2: ")
    assert expected in message


def test_a_hijack_needs_exactly_one_goal_and_one_campaign(tmp_path: Path) -> None:
    story = Story()
    story.add(f.login("v", 0), **attacker("pump", "h1"))
    assert "no goal event for attack_id 'h1'" in _refused(story.write(tmp_path))
    story.add(f.order("v", 1), **attacker("pump", "h1", goal=True))
    story.add(f.order("v", 2), **attacker("pump", "h1", goal=True))
    assert "line 3: attack_id 'h1' has a second goal event" in _refused(story.write(tmp_path))
    story.labels[2] = story.labels[2] | {"campaign": "payout"}
    assert "labelled payout, but earlier pump" in _refused(story.write(tmp_path))
