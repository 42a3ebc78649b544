"""`academy-platform keys generate` and `operator-token` (issue 9 §2, §3)."""

from __future__ import annotations

import base64
import json

import pytest
from academy_runtime.auth import PublicKeySet, SigningKey, verify_token
from academy_runtime.platform_cli import main


def test_generated_keys_sign_tokens_the_public_set_verifies(tmp_path, capsys, monkeypatch):
    main(["keys", "generate", "--out", str(tmp_path)])
    public = json.loads((tmp_path / "public-keys.json").read_text())
    assert set(public) == {"users", "catalog", "progress", "gamification", "billing", "gateway-bot", "operators"}
    assert oct((tmp_path / "billing.key").stat().st_mode & 0o777) == "0o600"
    capsys.readouterr()

    main(["operator-token", "--name", "alice", "--role", "finance", "--audience", "billing", "--ttl", "8h",
          "--key-file", str(tmp_path / "operators.key")])  # fmt: skip
    token = capsys.readouterr().out.strip()
    caller = verify_token(PublicKeySet.from_texts(public), token, audience="billing")
    assert (caller.actor, caller.roles) == ("operator:alice", frozenset({"finance"}))


def test_a_rotation_keeps_the_old_public_key_next_to_the_new(tmp_path):
    main(["keys", "generate", "--out", str(tmp_path), "--issuer", "billing"])
    old = SigningKey.from_text((tmp_path / "billing.key").read_text())
    main(["keys", "generate", "--out", str(tmp_path), "--issuer", "billing"])
    new = SigningKey.from_text((tmp_path / "billing.key").read_text())
    public = PublicKeySet.from_texts(json.loads((tmp_path / "public-keys.json").read_text()))
    assert public.key_ids() == {old.kid, new.kid}


def test_an_operator_token_beyond_twelve_hours_is_refused(monkeypatch):
    monkeypatch.delenv("OPERATOR_SIGNING_KEY", raising=False)
    monkeypatch.setenv("ENVIRONMENT", "development")
    with pytest.raises(SystemExit, match=r"1\.\.43200 s"):
        main(["operator-token", "--name", "alice", "--role", "finance", "--audience", "billing", "--ttl", "13h"])


def test_outside_development_the_command_needs_the_operators_key(monkeypatch):
    monkeypatch.delenv("OPERATOR_SIGNING_KEY", raising=False)
    monkeypatch.setenv("ENVIRONMENT", "production")
    with pytest.raises(SystemExit, match="OPERATOR_SIGNING_KEY"):
        main(["operator-token", "--name", "alice", "--role", "support", "--audience", "users"])


def test_the_command_issues_no_token_beyond_the_persons_account(monkeypatch, capsys):
    monkeypatch.delenv("OPERATOR_SIGNING_KEY", raising=False)
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.setenv("OPERATOR_ACCOUNTS", '{"alice": {"roles": ["support"]}}')
    with pytest.raises(SystemExit, match="'alice' does not hold finance"):
        main(["operator-token", "--name", "alice", "--role", "finance", "--audience", "billing"])
    with pytest.raises(SystemExit, match="'bob' has no operator account"):
        main(["operator-token", "--name", "bob", "--role", "support", "--audience", "users"])
    main(["operator-token", "--name", "alice", "--role", "support", "--audience", "users"])
    assert capsys.readouterr().out.count(".") == 2  # one JWT


def test_the_command_issues_tokens_for_known_services_only(monkeypatch, capsys):
    monkeypatch.setenv("ENVIRONMENT", "development")
    with pytest.raises(SystemExit):
        main(["operator-token", "--name", "alice", "--role", "support", "--audience", "nosuch"])
    assert "invalid choice: 'nosuch'" in capsys.readouterr().err


def test_personal_data_keys_are_generated_added_and_rotated(tmp_path, capsys):
    main(["keys", "personal-data", "--out", str(tmp_path)])
    first_id = (tmp_path / "personal-data-key-id").read_text()
    lookup = (tmp_path / "phone-lookup.key").read_text()
    main(["keys", "personal-data", "--out", str(tmp_path), "--env"])
    second_id = (tmp_path / "personal-data-key-id").read_text()

    keys = json.loads((tmp_path / "personal-data-keys.json").read_text())
    assert set(keys) == {first_id, second_id}, "the old key stays: values written under it still decrypt"
    assert first_id != second_id
    assert all(len(base64.b64decode(key)) == 32 for key in keys.values())
    assert (tmp_path / "phone-lookup.key").read_text() == lookup, "the lookup key changes only when asked"
    assert len(base64.b64decode(lookup)) == 32
    for name in ("personal-data-keys.json", "personal-data-key-id", "phone-lookup.key"):
        assert oct((tmp_path / name).stat().st_mode & 0o777) == "0o600", name
    env = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines() if "=" in line)
    assert json.loads(env["PERSONAL_DATA_KEYS"]) == keys
    assert env["PERSONAL_DATA_KEY_ID"] == second_id
    assert env["PHONE_LOOKUP_KEY"] == lookup

    main(["keys", "personal-data", "--out", str(tmp_path), "--rotate-lookup-key"])
    assert (tmp_path / "phone-lookup.key").read_text() != lookup
