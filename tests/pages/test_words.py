"""Both languages say everything, and no page text carries a URL (COMMS-1)."""

from __future__ import annotations

from kabuguard.auth.interfaces import AuthError
from kabuguard.notifications.kinds import Locale
from kabuguard.pages import web  # noqa: F401  (registers its AuthError: csrf_failed)
from kabuguard.pages.words import WORDS


def test_japanese_and_english_have_the_same_keys() -> None:
    assert set(WORDS[Locale.JA]) == set(WORDS[Locale.EN])


def test_no_text_contains_a_link() -> None:
    for words in WORDS.values():
        assert not [key for key, text in words.items() if "http" in text or "www." in text]


def test_every_auth_error_has_its_own_text_in_both_languages() -> None:
    def family(error: type[AuthError]) -> list[type[AuthError]]:
        return [error, *(kind for sub in error.__subclasses__() for kind in family(sub))]

    codes = {error.code for error in family(AuthError)} - {AuthError.code}
    for words in WORDS.values():
        assert not sorted(code for code in codes if f"err_{code}" not in words)


def test_a_paused_change_names_the_wait_and_suggests_no_passkey() -> None:
    for lang, passkey in ((Locale.JA, "パスキー"), (Locale.EN, "passkey")):
        text = WORDS[lang]["err_change_paused"].format(hours=12)
        assert "12" in text
        assert passkey not in text.lower()
