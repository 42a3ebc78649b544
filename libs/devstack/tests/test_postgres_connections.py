"""The local PostgreSQL is made to allow the connections the suites hold (academy_devstack.infra)."""

from __future__ import annotations

from academy_devstack.infra import raise_postgres_connections


def test_a_server_that_allows_enough_connections_is_left_as_it_is():
    said: list[str] = []
    # Any server allows one connection: nothing to change, nothing restarted, nothing said.
    assert raise_postgres_connections(said.append, minimum=1) is True
    assert said == []
