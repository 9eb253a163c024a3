"""Tokens in the keyring: stored and read under earmuff-bridge/<bridge id>; no keyring means a clear message."""

from __future__ import annotations

import keyring
import pytest
from client_helpers import MemoryKeyring, keyring_backend
from keyring.backends import fail, null

from app.secrets import SERVICE, KeyringSecretStore, MemorySecretStore, SecretStoreUnavailable


def test_tokens_go_to_the_keyring_under_the_bridge_id(memory_keyring):
    store = KeyringSecretStore()
    assert store.persistent
    assert store.get_token("bridge-1") is None
    store.set_token("bridge-1", "s3cret")
    assert memory_keyring.passwords == {(SERVICE, "bridge-1"): "s3cret"}
    assert keyring.get_password("earmuff-bridge", "bridge-1") == "s3cret"
    store.delete_token("bridge-1")
    store.delete_token("bridge-1")  # deleting what is not there is fine
    assert memory_keyring.passwords == {}


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()], ids=["fail", "null"])
def test_without_a_usable_keyring_every_call_says_what_to_install(backend):
    store = KeyringSecretStore()
    with keyring_backend(backend):
        for call in (lambda: store.check(), lambda: store.get_token("b"), lambda: store.set_token("b", "t"),
                     lambda: store.delete_token("b")):
            with pytest.raises(SecretStoreUnavailable) as caught:
                call()
            message = caught.value.user_message
            assert "gnome-keyring" in message and "KWallet" in message and "Keychain" in message
            assert "never stores the key in a plain file" in message


def test_keyring_errors_become_the_same_clear_message():
    class Locked(MemoryKeyring):
        def get_password(self, service, username):
            raise keyring.errors.KeyringLocked("the collection is locked")

    with keyring_backend(Locked()):
        with pytest.raises(SecretStoreUnavailable, match="locked"):
            KeyringSecretStore().get_token("b")


def test_the_demo_store_lives_in_memory():
    store = MemorySecretStore()
    assert not store.persistent
    store.set_token("demo", "t")
    assert store.get_token("demo") == "t"
    store.delete_token("demo")
    assert store.get_token("demo") is None
