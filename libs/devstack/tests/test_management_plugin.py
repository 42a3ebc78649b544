"""`ensure_services` enables the local broker's management plugin when it can, and never fails when it cannot."""

from academy_devstack import infra


def test_without_rabbitmq_plugins_it_says_why_and_goes_on(monkeypatch):
    said = []
    monkeypatch.setattr(infra, "port_open", lambda *_a, **_k: False)
    monkeypatch.setattr(infra.shutil, "which", lambda _name: None)
    assert infra.enable_rabbitmq_management(said.append) is False
    assert said == ["rabbitmq-plugins is not installed: no RabbitMQ management API (its tests skip)"]


def test_a_refusing_rabbitmq_plugins_is_reported_not_raised(monkeypatch, tmp_path):
    fake = tmp_path / "rabbitmq-plugins"
    fake.write_text("#!/bin/sh\necho 'Error: unable to perform an operation on node' >&2\nexit 69\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}")
    monkeypatch.setattr(infra, "port_open", lambda *_a, **_k: False)
    said = []
    assert infra.enable_rabbitmq_management(said.append) is False
    (message,) = said
    assert message.startswith("could not enable the RabbitMQ management plugin: Error: unable to perform")


def test_with_the_api_already_up_it_does_nothing(monkeypatch):
    monkeypatch.setattr(infra, "port_open", lambda *_a, **_k: True)
    monkeypatch.setattr(infra.subprocess, "run", lambda *_a, **_k: (_ for _ in ()).throw(AssertionError("ran")))
    assert infra.enable_rabbitmq_management(print) is True
