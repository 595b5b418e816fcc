"""Katakana holder names (口座名義) normalised for comparison, with jaconv.

Bank records write names in half-width katakana with small kana enlarged (ｷﾔﾂｼﾕ for キャッシュ),
spaces where the customer typed none, dashes for long vowels, and legal-entity abbreviations
(ｶ) for 株式会社). Comparing a customer's registered name with a payout account's holder name
therefore normalises both: full width (jaconv.h2z / normalize), small kana enlarged
(jaconv.enlarge_smallkana), hiragana to katakana, every dash-like long-vowel mark to ー,
spaces and separators dropped, and the Zengin legal-entity words and abbreviations reduced to
one form.
"""

from __future__ import annotations

import re

import jaconv

# Zengin (全銀協) abbreviations of legal-entity words in account names, with the full words
# customers write; both sides are reduced to the abbreviation. Data, not a conversion table.
_ENTITIES = {
    "カブシキガイシャ": "カ",
    "カブシキカイシャ": "カ",  # the unvoiced reading, also written
    "ユウゲンガイシャ": "ユ",
    "ゴウメイガイシャ": "メ",
    "ゴウシガイシャ": "シ",
    "ゴウドウガイシャ": "ド",
    "イツパンシヤダンホウジン": "シヤ",
    "イツパンザイダンホウジン": "ザイ",
    "イリヨウホウジン": "イ",
    "ガツコウホウジン": "ガク",
}
_WORDS = {jaconv.enlarge_smallkana(word): short for word, short in _ENTITIES.items()}
_DASHES = re.compile(r"[-‐‑‒–—―−－ｰ~〜～]")
_SEPARATORS = re.compile(r"[\s　・.,．，、（）()「」]")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff]")  # zero-width spaces and marks
_SHORT = "カ|ユ|メ|シ|ド|シヤ|ザイ|イ|ガク"
# ｶ) before the name, or (ｶ / (ｶ) after it.
_ABBREVIATED = re.compile(rf"^[（(]?({_SHORT})[)）]|[（(]({_SHORT})[)）]?$")


def normalise_name(name: str) -> str:
    """One canonical katakana form of a person's or company's name."""
    text = jaconv.normalize(name, "NFKC")  # half-width kana to full width, full-width ASCII down
    text = _INVISIBLE.sub("", text).strip().upper()  # before the anchored abbreviations
    text = jaconv.hira2kata(text)
    text = jaconv.enlarge_smallkana(text)
    text = _DASHES.sub("ー", text)
    text = _ABBREVIATED.sub(lambda m: "<" + (m.group(1) or m.group(2)) + ">", text)
    for word, short in _WORDS.items():
        text = text.replace(word, f"<{short}>")
    return _SEPARATORS.sub("", text)


def same_holder(registered: str, holder: str) -> bool:
    return normalise_name(registered) == normalise_name(holder)
