"""Both languages say everything, and no page text carries a URL (COMMS-1)."""

from __future__ import annotations

from pathlib import Path

from kabuguard.auth.interfaces import AuthError
from kabuguard.auth.passkeys import MAX_PASSKEYS
from kabuguard.auth.signing import SIGNED_ACTIONS
from kabuguard.notifications.kinds import Locale
from kabuguard.pages import web  # noqa: F401  (registers its AuthError: csrf_failed)
from kabuguard.pages.routes import REASONS
from kabuguard.pages.security import DETAIL_ORDER
from kabuguard.pages.words import WORDS
from kabuguard.risk.events import BankAccountType, ContactKind

AUTH = Path(__file__).resolve().parents[2] / "src/kabuguard/auth"


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


def test_every_reason_told_in_words_is_one_the_auth_package_still_raises() -> None:
    sources = "".join(path.read_text() for path in AUTH.glob("*.py"))
    for message, key in REASONS.items():
        spelt = message.replace(str(MAX_PASSKEYS), "{MAX_PASSKEYS}")
        assert message in sources or spelt in sources, message
        assert all(key in words for words in WORDS.values())


def test_every_value_a_signed_detail_can_take_has_words() -> None:
    keys = [f"value_account_type_{kind}" for kind in BankAccountType]
    keys += [f"value_contact_{kind}" for kind in ContactKind]
    for words in WORDS.values():
        assert not [key for key in keys if key not in words]


def test_every_signed_detail_has_a_place_and_a_label() -> None:
    for action, (_, fields) in SIGNED_ACTIONS.items():
        assert set(fields) - {"currency"} == set(DETAIL_ORDER[action])
        for words in WORDS.values():
            assert not [name for name in fields if f"detail_{name}" not in words]
