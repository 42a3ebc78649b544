"""Operators' console passwords (issue 12): argon2id hashes in OPERATOR_ACCOUNTS, `operator-password`."""

from __future__ import annotations

import io
import json

import pytest
from academy_runtime.auth import OperatorAccount, hash_operator_password, verify_operator_password
from academy_runtime.platform_cli import main
from academy_runtime.settings import ServiceSettings
from pydantic import TypeAdapter, ValidationError

PASSWORD = "correct horse battery staple"


def test_an_account_with_a_hash_admits_its_password_only():
    account = OperatorAccount(roles=frozenset({"support"}), password_hash=hash_operator_password(PASSWORD))
    assert account.password_hash is not None
    assert account.password_hash.startswith("$argon2id$")
    assert verify_operator_password(account, PASSWORD)
    assert not verify_operator_password(account, PASSWORD + "!")
    assert not verify_operator_password(account, "")


def test_no_account_or_no_hash_admits_nothing_not_even_the_dummy_password():
    assert not verify_operator_password(None, PASSWORD)
    assert not verify_operator_password(OperatorAccount(roles=frozenset({"support"})), "not a password of anyone")


def test_existing_accounts_without_a_hash_stay_valid(monkeypatch):
    monkeypatch.setenv("OPERATOR_ACCOUNTS", '{"alice": {"roles": ["finance"], "tokens_not_before": 5}}')
    settings = ServiceSettings()
    assert settings.operator_accounts is not None
    alice = settings.operator_accounts["alice"]
    assert (alice.roles, alice.tokens_not_before, alice.password_hash) == (frozenset({"finance"}), 5, None)


@pytest.mark.parametrize(
    "password_hash", ["plain text", "$2b$12$bcryptbcryptbcryptbcryptbcryptbcryptbcryptbcryptbcry", "$argon2i$v=19$x"]
)
def test_a_hash_that_is_not_argon2id_is_refused(password_hash):
    with pytest.raises(ValidationError, match="argon2id"):
        OperatorAccount(roles=frozenset({"support"}), password_hash=password_hash)


def test_the_hash_is_never_in_the_accounts_repr():
    account = OperatorAccount(roles=frozenset({"support"}), password_hash=hash_operator_password(PASSWORD))
    assert "argon2" not in repr(account)


@pytest.mark.parametrize("password", ["short", "x" * 11, "twelve chars\x00"])
def test_short_or_nul_passwords_are_not_hashed(password):
    with pytest.raises(ValueError, match=r"characters|NUL"):
        hash_operator_password(password)


def test_operator_password_prints_an_entry_that_signs_in(monkeypatch, capsys):
    monkeypatch.setenv("OPERATOR_ACCOUNTS", '{"alice": {"roles": ["support", "finance"], "tokens_not_before": 7}}')
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    main(["operator-password", "--name", "alice"])
    out = capsys.readouterr().out
    assert PASSWORD not in out
    accounts = TypeAdapter(dict[str, OperatorAccount]).validate_json("{" + out.strip() + "}")
    alice = accounts["alice"]
    assert (alice.roles, alice.tokens_not_before) == (frozenset({"support", "finance"}), 7)
    assert verify_operator_password(alice, PASSWORD)


def test_operator_password_for_a_new_person_has_no_roles_yet(monkeypatch, capsys):
    monkeypatch.delenv("OPERATOR_ACCOUNTS", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    main(["operator-password", "--name", "bob"])
    name, _, entry = capsys.readouterr().out.strip().partition(": ")
    assert json.loads(name) == "bob"
    assert json.loads(entry)["roles"] == []


def test_operator_password_refuses_a_bad_name_and_a_short_password(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    with pytest.raises(SystemExit, match="login"):
        main(["operator-password", "--name", "Alice Smith"])
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    with pytest.raises(SystemExit, match="at least 12"):
        main(["operator-password", "--name", "alice"])
