"""The service's schema: migrations go up, down and up again and build exactly the models; its tables
are readable by its own role only."""

from academy_runtime.schema_tests import test_migrations_round_trip, test_tables_are_private

__all__ = ["test_migrations_round_trip", "test_tables_are_private"]
