"""Holder names compare equal across widths, small kana, dashes, spaces and entity forms."""

from __future__ import annotations

import pytest

from kabuguard.enrich.kana import normalise_name, same_holder


@pytest.mark.parametrize(
    ("registered", "holder"),
    [
        ("ヤマダ タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ"),  # half width, voiced mark
        ("キャッシュ", "ｷﾔﾂｼﾕ"),  # small kana as banks write them
        ("やまだ たろう", "ヤマダタロウ"),  # hiragana, no space
        ("サトー", "ｻﾄ-"),  # long vowel mark as a dash
        ("カブシキガイシャ ヤマダ", "ｶ)ﾔﾏﾀﾞ"),  # legal entity, Zengin abbreviation in front
        ("ヤマダ カブシキガイシャ", "ﾔﾏﾀﾞ(ｶ"),  # ... and behind
        ("ユウゲンガイシャ　スズキ", "ﾕ)ｽｽﾞｷ"),  # full-width space, 有限会社
        ("ｶ)ﾔﾏﾀﾞ", " ｶ)ﾔﾏﾀﾞ"),  # a leading space before the abbreviation
        ("ヤマダタロウ", "ヤマダ\u200bタロウ"),  # a zero-width space pasted in
        ("YAMADA SHOJI", "yamada shoji"),  # Latin letters in either case
        ("カブシキカイシャ ヤマダ", "ｶ)ﾔﾏﾀﾞ"),  # the unvoiced reading of 株式会社
    ],
)
def test_the_same_holder_in_other_spellings_matches(registered: str, holder: str) -> None:
    assert same_holder(registered, holder)


def test_another_person_does_not_match() -> None:
    assert not same_holder("ヤマダ タロウ", "ﾔﾏﾀﾞ ﾊﾅｺ")
    assert not same_holder("カブシキガイシャ ヤマダ", "ﾕ)ﾔﾏﾀﾞ")  # another kind of company


def test_normal_form_is_full_width_katakana_without_separators() -> None:
    assert normalise_name("ﾔﾏﾀﾞ・ﾀﾛｳ") == "ヤマダタロウ"
