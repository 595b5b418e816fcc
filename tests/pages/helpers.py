"""What the page tests share: reading a page's CSRF token, alert and links; logging in."""

from __future__ import annotations

import re

import httpx

from kabuguard.db import Database
from tests.auth.conftest import PASSWORD, Customer, last_code


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert found, page.text
    return found.group(1)


def alert(page: httpx.Response) -> str:
    found = re.search(r'role="(?:alert|status)">([^<]+)<', page.text)
    return found.group(1) if found else ""


def language_links(page: httpx.Response) -> list[str]:
    nav = re.search(r'<nav class="lang"[^>]*>(.*?)</nav>', page.text, re.S)
    assert nav, page.text
    return [link.replace("&amp;", "&") for link in re.findall(r'href="([^"]+)"', nav.group(1))]


def english(text: str) -> list[str]:
    """English words in a text meant to be Japanese (a lone letter, as in "QR", is allowed)."""
    return re.findall(r"[A-Za-z]{3,}", text)


def password_step(browser: httpx.Client, customer: Customer) -> str:
    """Log in with the password through the pages; the form's CSRF token."""
    token = csrf(browser.get("/auth/login"))
    form = {"csrf": token, "username": customer.username, "password": PASSWORD}
    step = browser.post("/auth/login", data=form)
    assert step.headers.get("location") == "/auth/login/second", step.text
    return token


def login_with_email_code(browser: httpx.Client, customer: Customer, database: Database) -> str:
    """Password, then an e-mailed code, through the pages: the CSRF token of the session."""
    token = password_step(browser, customer)
    browser.post("/auth/login/email", data={"csrf": token})
    code = last_code(database, customer.customer_id)
    done = browser.post(
        "/auth/login/code", data={"csrf": token, "factor": "email_otp", "code": code}
    )
    assert done.headers.get("location") == "/auth/security", done.text
    return token
