"""Account e-mail addresses live in the keyring (a real keyring backend here, in memory), never in the
database file; without a usable keyring the user is told what to install."""

from __future__ import annotations

import threading

import keyring
import keyring.backends.fail
import pytest
from client_helpers import MemoryKeyring, keyring_backend

from app.optouts.account_secrets import SERVICE, AccountSecrets, check_email


class Results:
    def __init__(self) -> None:
        self.items = []
        self.threads = []
        self.done = threading.Event()

    def __call__(self, result) -> None:
        self.items.append(result)
        self.threads.append(threading.current_thread().name)
        self.done.set()

    def wait(self):
        assert self.done.wait(10)
        self.done.clear()
        return self.items[-1]


@pytest.fixture
def secrets():
    store = AccountSecrets()
    yield store
    store.close()


def test_an_email_goes_to_the_keyring_under_its_own_service_and_not_into_the_database(secrets, tracker, db):
    results = Results()
    with keyring_backend(MemoryKeyring()) as backend:
        account = tracker.add_account("amazon", "Amazon - family")
        secrets.set_email(account.account_id, "anna@example.org", results)
        assert results.wait().ok
        assert backend.passwords == {(SERVICE, f"account-{account.account_id}"): "anna@example.org"}
        tracker.set_has_email(account.account_id, True)
        secrets.get_email(account.account_id, results)
        assert results.wait().value == "anna@example.org"
        assert results.threads[-1].startswith("earmuff-account-secrets")
        secrets.delete_email(account.account_id, results)
        assert results.wait().ok and backend.passwords == {}
    db.connection.execute("PRAGMA wal_checkpoint(FULL)")
    assert b"anna@example.org" not in db.path.read_bytes()
    assert tracker.account(account.account_id).has_email
    assert tracker.history()[0].summary == "E-mail address of “Amazon - family” stored in your keyring"


def test_without_a_keyring_the_error_says_what_to_install(secrets):
    results = Results()
    with keyring_backend(keyring.backends.fail.Keyring()):
        secrets.set_email(7, "anna@example.org", results)
        result = results.wait()
    assert not result.ok and result.account_id == 7
    assert "GNOME Keyring" in result.error and "never in its own files" in result.error


def test_close_finishes_pending_calls_and_stops_the_worker(secrets):
    results = Results()
    with keyring_backend(MemoryKeyring()):
        secrets.set_email(1, "a@example.org", results)
        secrets.close()
    assert len(results.items) == 1
    assert not any(t.name.startswith("earmuff-account-secrets") for t in threading.enumerate())
    secrets.get_email(1, results)  # after closing: answered at once, with a reason
    assert results.items[-1].error == "Earmuff is closing."


@pytest.mark.parametrize("text", ["anna", "anna@", "@example.org", "an na@example.org", "a@b"])
def test_addresses_are_checked(text):
    with pytest.raises(ValueError, match="does not look like an e-mail address"):
        check_email(text)


def test_a_good_address_is_trimmed():
    assert check_email("  anna@example.org ") == "anna@example.org"
