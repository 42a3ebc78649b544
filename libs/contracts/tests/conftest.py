from pathlib import Path

import pytest

CONTRACTS_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def contracts_root() -> Path:
    """`libs/contracts/`, where the committed documents live."""
    return CONTRACTS_ROOT
