"""Masking operators: keyed pseudonyms, reversible encryption and key errors."""

import base64
import re

import pytest

from governance.pii import (
    ENCRYPTION_KEY_ENV,
    PSEUDONYM_KEY_ENV,
    PiiConfig,
    PiiEngine,
    decrypt_text,
    decrypt_value,
)
from governance.pii.operators import make_pseudonymizer

from .conftest import ENCRYPTION_KEY, PSEUDONYM_KEY


def test_pseudonym_same_value_same_key(engine):
    first, second = engine.mask_batch(
        ["Merci à Claire Dumont.", "Encore merci à CLAIRE DUMONT !"], ["fr", "fr"], "pseudonym"
    )
    first_pseudonym = re.search(r"<PERSON_[0-9a-f]{8}>", first.masked_text).group()
    assert first_pseudonym in second.masked_text


def test_pseudonym_differs_by_key():
    value = ("PERSON", "Claire Dumont")
    with_key = make_pseudonymizer(PSEUDONYM_KEY)(*value)
    with_other_key = make_pseudonymizer(b"another-pseudonym-key-0123456789")(*value)
    assert with_key != with_other_key


def test_pseudonym_phone_spellings_agree():
    pseudonymize = make_pseudonymizer(PSEUDONYM_KEY)
    assert pseudonymize("PHONE_NUMBER", "06 12 34 56 78") == pseudonymize("PHONE_NUMBER", "0612345678")


def test_encrypt_round_trip(engine):
    text = "Rappelez-moi au 06 12 34 56 78, Julie Martin"
    result = engine.mask(text, "fr", operator="encrypt")
    assert "06 12 34 56 78" not in result.masked_text
    assert "Julie" not in result.masked_text
    assert decrypt_text(result.masked_text, ENCRYPTION_KEY) == text


def test_decrypt_wrong_key_fails(engine):
    result = engine.mask("Appelle-moi au 06 12 34 56 78.", "fr", operator="encrypt")
    token = re.search(r"<PHONE_NUMBER:[^>]+>", result.masked_text).group()
    assert decrypt_value(token, ENCRYPTION_KEY) == "06 12 34 56 78"
    with pytest.raises(ValueError, match="wrong key"):
        decrypt_value(token, bytes(32))


def test_pseudonym_missing_key_names_env():
    with pytest.raises(ValueError, match=PSEUDONYM_KEY_ENV):
        PiiEngine(PiiConfig(operator="pseudonym")).load()


def test_encrypt_missing_key_names_env():
    config = PiiConfig()
    with pytest.raises(ValueError, match=ENCRYPTION_KEY_ENV):
        config.check_operator_key("encrypt")


def test_config_from_env_reads_keys(monkeypatch):
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, base64.b64encode(b"p" * 32).decode())
    monkeypatch.setenv(ENCRYPTION_KEY_ENV, base64.b64encode(bytes(32)).decode())
    config = PiiConfig.from_env(operator="encrypt")
    assert config.pseudonym_key == b"p" * 32
    assert config.encryption_key == bytes(32)


def test_config_from_env_rejects_bad_key(monkeypatch):
    monkeypatch.setenv(ENCRYPTION_KEY_ENV, "not base64!")
    with pytest.raises(ValueError, match=ENCRYPTION_KEY_ENV):
        PiiConfig.from_env(operator="encrypt")


def test_config_repr_hides_keys():
    config = PiiConfig(pseudonym_key=PSEUDONYM_KEY, encryption_key=ENCRYPTION_KEY)
    assert "test-pseudonym-key" not in repr(config)
