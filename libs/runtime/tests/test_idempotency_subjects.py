"""Idempotency records that name whom their answer is about, so an erasure can delete them, and answers
stored encrypted (issue 10)."""

from __future__ import annotations

import base64

import pytest
from academy_runtime.idempotency import IdempotencyStore, ResponseCipher, idempotency_table
from academy_runtime.messaging import Messaging
from pydantic import BaseModel
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


class _Answer(BaseModel):
    full_name: str
    phone: str


# A toy cipher: what matters here is that the store calls it both ways, not its strength.
_TOY = ResponseCipher(
    encrypt=lambda text: "toy:" + base64.b64encode(text.encode()[::-1]).decode(),
    decrypt=lambda stored: base64.b64decode(stored.removeprefix("toy:"))[::-1].decode(),
)


def test_a_store_with_a_response_cipher_stores_the_cipher_text_and_replays_the_same_answer():
    store = IdempotencyStore(idempotency_table(MetaData(schema="x"), with_subject=True), response_cipher=_TOY)
    answer = _Answer(full_name="Прасковья Второва", phone="+79161234598")

    stored = store.stored_response(answer)

    assert isinstance(stored, str)
    assert stored.startswith("toy:")
    assert "Прасковья" not in stored
    assert "79161234598" not in stored
    assert _Answer.model_validate(store.replayed_response(stored)) == answer


def test_a_store_without_a_cipher_keeps_answers_as_json_and_reads_old_clear_rows_with_one():
    plain = IdempotencyStore(idempotency_table(MetaData(schema="x")))
    answer = _Answer(full_name="Анна Петрова", phone="+79160000000")

    assert plain.stored_response(answer) == answer.model_dump(mode="json")
    # A row written before the service had a cipher (and not yet migrated) still replays.
    ciphered = IdempotencyStore(idempotency_table(MetaData(schema="x")), response_cipher=_TOY)
    assert ciphered.replayed_response(answer.model_dump(mode="json")) == answer.model_dump(mode="json")


def test_messaging_passes_the_cipher_to_its_idempotency_store():
    messaging = Messaging(MetaData(schema="x"), idempotency_subjects=True, idempotency_response_cipher=_TOY)

    assert messaging.idempotency.response_cipher is _TOY
