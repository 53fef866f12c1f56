"""The person-key ring (services/common/keyring.py): what a ring secret must say, which key makes new
person keys, which keys a lookup tries, and that the local ring is the one local data was made with."""
from __future__ import annotations

import pytest

from chalicelib.errors import KeyUnavailableError
from chalicelib.services.common import keyring
from chalicelib.services.common.security import keyed_hash

NUMBER = "440115199001010011"


def test_without_a_ring_secret_the_local_ring_is_the_app_secret_so_local_data_keeps_matching(monkeypatch):
    monkeypatch.delenv("PERSON_KEY_SECRET_ID", raising=False)
    assert keyring.person_key(NUMBER) == keyed_hash("person", NUMBER)  # what earlier versions stored
    assert keyring.lookup_keys(NUMBER) == [keyed_hash("person", NUMBER)]


def test_a_deployed_stage_without_the_ring_secret_refuses_rather_than_hash_with_app_secret(monkeypatch):
    monkeypatch.delenv("PERSON_KEY_SECRET_ID", raising=False)
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("APP_SECRET", "x" * 40)
    monkeypatch.setenv("SMS_SENDER", "sns")
    with pytest.raises(KeyUnavailableError, match="人员密钥暂时无法读取"):
        keyring.ring()


def test_while_rotating_new_keys_use_the_current_version_and_lookups_try_both():
    steady = keyring.parse({"current": "1", "key1": "a" * 40})
    rotating = keyring.parse({"current": "2", "key2": "b" * 40, "replacing": "1", "key1": "a" * 40})
    old = steady.digests()([NUMBER.encode()])[0]
    new = rotating.digests()([NUMBER.encode()])[0]
    assert old != new and rotating.replaced_digests()([NUMBER.encode()])[0] == old
    assert steady.replaced_digests() is None
    assert len(new) == 64  # the staff id's format (registry/staff.py split_id)


@pytest.mark.parametrize("value, reason", [
    ({}, "no current version"),
    ({"current": "1"}, "key1 missing"),
    ({"current": "1", "key1": "short"}, "shorter than 32"),
    ({"current": "2", "key2": "b" * 40, "replacing": "1"}, "key1 missing"),
    ({"current": "2", "key2": "b" * 40, "replacing": "2"}, "replacing names the current"),
])
def test_a_ring_that_does_not_say_which_key_is_current_is_refused(value, reason):
    with pytest.raises(keyring.RingError, match=reason):
        keyring.parse(value)


def test_an_unreadable_ring_is_a_chinese_503_and_nothing_is_hashed(monkeypatch):
    from chalicelib.integrations import secrets

    def unreadable(secret_id):
        raise secrets.Unreadable("AccessDenied")

    monkeypatch.setenv("PERSON_KEY_SECRET_ID", "sentinel-test-person-key")
    monkeypatch.setattr(secrets, "json_object", unreadable)
    keyring.forget()
    with pytest.raises(KeyUnavailableError) as caught:
        keyring.person_key(NUMBER)
    assert caught.value.status == 503 and caught.value.code == "PERSON_KEY_UNAVAILABLE"
    keyring.forget()
