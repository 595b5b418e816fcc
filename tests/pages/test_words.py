"""Both languages say everything, and no page text carries a URL (COMMS-1)."""

from __future__ import annotations

from kabuguard.notifications.kinds import Locale
from kabuguard.pages.words import WORDS


def test_japanese_and_english_have_the_same_keys() -> None:
    assert set(WORDS[Locale.JA]) == set(WORDS[Locale.EN])


def test_no_text_contains_a_link() -> None:
    for words in WORDS.values():
        assert not [key for key, text in words.items() if "http" in text or "www." in text]
