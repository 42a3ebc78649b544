"""Idempotency records that name whom their answer is about, so an erasure can delete them (issue 10)."""

from __future__ import annotations

import pytest
from academy_runtime.idempotency import IdempotencyStore, idempotency_table
from sqlalchemy import MetaData


def test_a_table_with_subjects_has_the_column_and_its_index():
    table = idempotency_table(MetaData(schema="x"), with_subject=True)

    assert "subject" in table.c
    assert {index.name for index in table.indexes} == {"ix_idempotency_keys_subject"}
    assert IdempotencyStore(table).has_subjects


async def test_a_subject_given_to_a_table_without_subjects_is_a_wiring_error():
    store = IdempotencyStore(idempotency_table(MetaData(schema="x")))

    assert not store.has_subjects
    with pytest.raises(ValueError, match="with_subject=True"):
        await store.run(
            None,  # type: ignore[arg-type]
            None,  # type: ignore[arg-type]
            key="k",
            payload={},
            response_model=None,  # type: ignore[arg-type]
            action=None,  # type: ignore[arg-type]
            subject="user/1",
        )
    with pytest.raises(ValueError, match="with_subject=True"):
        await store.forget_subject(None, "user/1")  # type: ignore[arg-type]
