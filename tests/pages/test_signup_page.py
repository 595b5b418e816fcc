"""Sign-up: a refused field is named on the form again, in the customer's language."""

from __future__ import annotations

import re

import httpx
import pytest

from kabuguard.auth.interfaces import WeakPassword
from kabuguard.auth.passwords import MAX_LENGTH, MIN_LENGTH, check_new_password
from kabuguard.notifications.kinds import Locale
from kabuguard.pages.routes import weak_password_text
from kabuguard.pages.words import WORDS
from tests.auth.conftest import PASSWORD, Auth
from tests.pages.helpers import alert, csrf, english


def _field_error(page: httpx.Response, name: str) -> str:
    tag = re.search(rf'<input id="{name}"[^>]*>', page.text)
    assert tag, page.text
    assert 'aria-invalid="true"' in tag.group(0)
    found = re.search(rf'<p id="{name}-error" class="field-error">([^<]+)</p>', page.text)
    assert found, page.text
    return found.group(1)


@pytest.mark.parametrize("email", ["taro@example", "太郎@例え.jp", "taro@xn--"])
@pytest.mark.parametrize("lang", list(Locale))
def test_an_e_mail_address_we_cannot_send_to_is_named_on_the_form(
    browser: httpx.Client, email: str, lang: Locale
) -> None:
    token = csrf(browser.get("/auth/signup"))
    form = {"csrf": token, "username": "taro", "email": email, "password": PASSWORD}
    refused = browser.post(f"/auth/signup?lang={lang.value}", data=form)
    assert refused.status_code == 422
    assert _field_error(refused, "email") == WORDS[lang]["err_field_email"]
    assert f'value="{email}"' in refused.text  # kept to correct, not typed again
    made = browser.post(f"/auth/signup?lang={lang.value}", data=form | {"email": "taro@ex.jp"})
    assert made.status_code == 303


def test_the_api_refuses_such_an_address_with_a_422_naming_the_field(auth: Auth) -> None:
    reply = auth.http.post(
        "/v1/auth/customers",
        json={
            "username": "taro",
            "password": PASSWORD,
            "email": "taro@example",
            "client": {"device_id": "device-0123456789"},
        },
    )
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"]["fields"][0]["field"] == "email"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "weak_short"),
        ("x" * (MAX_LENGTH + 1), "weak_long"),
        ("taro-and-more-words", "weak_username"),
        ("1234567890", "weak_common"),
    ],
)
def test_every_weak_password_reason_has_its_words(password: str, reason: str) -> None:
    with pytest.raises(WeakPassword) as refused:
        check_new_password(password, "taro")
    for lang in Locale:
        said = WORDS[lang][f"err_{reason}"].format(min=MIN_LENGTH, max=MAX_LENGTH)
        assert weak_password_text(refused.value, WORDS[lang]) == said


@pytest.mark.parametrize("lang", list(Locale))
def test_a_weak_password_and_a_taken_username_are_explained_in_one_language(
    auth: Auth, browser: httpx.Client, lang: Locale
) -> None:
    token = csrf(browser.get("/auth/signup"))
    form = {"csrf": token, "username": "hanako", "password": "1234567890"}
    weak = browser.post(f"/auth/signup?lang={lang.value}", data=form)
    assert weak.status_code == 422
    assert _field_error(weak, "password") == WORDS[lang]["err_weak_common"]  # no {placeholder}
    auth.create(username="hanako")
    taken = browser.post(f"/auth/signup?lang={lang.value}", data=form | {"password": PASSWORD})
    assert taken.status_code == 409
    assert _field_error(taken, "username") == WORDS[lang]["err_username_taken"]
    if lang is Locale.JA:
        assert not english(alert(weak))
        assert not english(alert(taken))
