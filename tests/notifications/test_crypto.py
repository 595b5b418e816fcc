"""Field encryption: AES-GCM bound to its field, key ids for rotation, keyed digests."""

from __future__ import annotations

import pytest

from kabuguard.notifications.crypto import FieldCipher, UndecryptableValue, decode_key, key_id

OLD, NEW = b"o" * 32, b"n" * 32


def test_a_value_decrypts_only_in_its_own_field() -> None:
    cipher = FieldCipher(NEW)
    sealed = cipher.encrypt("taro@example.jp", context="contact:email:c-1")
    assert "taro" not in sealed
    assert sealed.startswith(key_id(NEW) + ":")
    assert cipher.decrypt(sealed, context="contact:email:c-1") == "taro@example.jp"
    assert cipher.encrypt("taro@example.jp", context="x") != cipher.encrypt(
        "taro@example.jp", context="x"
    )
    with pytest.raises(UndecryptableValue, match="belongs elsewhere"):
        cipher.decrypt(sealed, context="contact:email:c-2")  # copied onto another customer
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(UndecryptableValue):
        cipher.decrypt(tampered, context="contact:email:c-1")


def test_rotation_keeps_old_values_readable_and_writes_new_ones_under_the_new_key() -> None:
    sealed = FieldCipher(OLD).encrypt("+819012345678", context="c")
    rotated = FieldCipher(NEW, previous=[OLD])
    assert rotated.decrypt(sealed, context="c") == "+819012345678"
    assert rotated.encrypt("v", context="c").startswith(key_id(NEW))
    with pytest.raises(UndecryptableValue, match="no configured data key"):
        FieldCipher(NEW).decrypt(sealed, context="c")


def test_digests_are_keyed_and_stable() -> None:
    assert FieldCipher(NEW).digest("a@b.jp") == FieldCipher(NEW).digest("a@b.jp")
    assert FieldCipher(NEW).digest("a@b.jp") != FieldCipher(OLD).digest("a@b.jp")


def test_configured_keys_must_be_32_bytes_of_base64() -> None:
    assert (
        decode_key("dGVzdC1vbmx5LWRhdGEta2V5LTMyLWJ5dGVzLWxvbmc=")
        == b"test-only-data-key-32-bytes-long"
    )
    with pytest.raises(ValueError, match="not 3 bytes"):
        decode_key("YWJj")
    with pytest.raises(ValueError, match="base64"):
        decode_key("not base64!")
