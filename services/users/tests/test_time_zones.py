"""Learners' time zones: derived from the city through the gazetteer, chosen by the learner, or the default
(and said so); every change bumps the revision and is published as `users.profile_updated.v3`."""

import asyncio

import pytest
from academy_runtime.testing import assert_migrations_round_trip
from academy_users.accounts.gazetteer import Gazetteer, fold_city_name, gazetteer
from academy_users.accounts.service import derive_missing_time_zones
from academy_users.models import AuditLog, User, messaging
from sqlalchemy import select, text

from .test_registration import registration

pytestmark = pytest.mark.integration

US_PHONE = "+14155552671"
UKRAINIAN_PHONE = "+380501234567"


async def _outbox(resources, event_type: str) -> list[dict]:
    async with resources.sessionmaker() as session:
        rows = await session.execute(
            select(messaging.outbox.c.payload)
            .where(messaging.outbox.c.event_type == event_type)
            .order_by(messaging.outbox.c.id)
        )
        return [payload["data"] for payload in rows.scalars()]


async def _register(api, telegram_id: int, **fields) -> dict:
    response = await api.post("/internal/users/register", json=registration(telegram_id, **fields))
    assert response.status_code == 200, response.text
    return response.json()["learner"]


# -- the gazetteer ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Новосибирск", "Asia/Novosibirsk"),
        ("Novosibirsk", "Asia/Novosibirsk"),
        ("НОВОСИБИРСК", "Asia/Novosibirsk"),
        ("г. Новосибирск", "Asia/Novosibirsk"),
        ("Екатеринбург", "Asia/Yekaterinburg"),
        ("Yekaterinburg", "Asia/Yekaterinburg"),
        ("Владивосток", "Asia/Vladivostok"),
        ("Almaty", "Asia/Almaty"),
        ("Алматы, Казахстан", "Asia/Almaty"),
        ("Минск", "Europe/Minsk"),
        ("Калининград", "Europe/Kaliningrad"),
        ("Самара", "Europe/Samara"),
        ("Орёл", "Europe/Moscow"),
        ("орел", "Europe/Moscow"),
        ("Ростов-на-Дону", "Europe/Moscow"),
        ("  санкт-петербург ", "Europe/Moscow"),
        ("Петропавловск-Камчатский", "Asia/Kamchatka"),
    ],
)
def test_the_gazetteer_knows_cities_typed_in_russian_or_english(typed, zone):
    found = gazetteer(15000).find(typed)

    assert found is not None
    assert found.time_zone == zone


def test_names_compare_without_case_accents_or_yo():
    assert fold_city_name("Орёл") == fold_city_name("ОРЕЛ") == "орел"
    assert fold_city_name("Ростов-на-Дону") == "ростов на дону"
    assert fold_city_name("Zürich") == "zurich"


def test_namesakes_go_to_the_most_populous_in_the_learners_country_else_anywhere():
    def city(geoname_id: int, country: str, population: int, zone: str) -> dict:
        return {
            "geonameid": geoname_id,
            "name": "Paris",
            "alternatenames": ["Париж"],
            "countrycode": country,
            "population": population,
            "timezone": zone,
        }

    paris = Gazetteer.from_records(
        [city(1, "FR", 2_138_551, "Europe/Paris"), city(2, "US", 24_782, "America/Chicago"), city(3, "US", 9_000, "X")]
    )

    assert paris.find("Париж").time_zone == "Europe/Paris"
    assert paris.find("Paris", country_code="US").time_zone == "America/Chicago"
    assert paris.find("Paris", country_code="RU").time_zone == "Europe/Paris"
    assert paris.find("Лондон") is None


def test_names_in_other_scripts_are_not_indexed():
    only = Gazetteer.from_records(
        [
            {
                "geonameid": 1,
                "name": "Tokyo",
                "alternatenames": ["東京", "Токио"],
                "countrycode": "JP",
                "population": 1,
                "timezone": "Asia/Tokyo",
            }
        ]
    )

    assert only.find("Токио") is not None
    assert only.find("東京") is None
    assert len(only) == 2


# -- registration -------------------------------------------------------------------------------------


async def test_registration_derives_the_zone_from_the_city_and_publishes_it(api, resources):
    learner = await _register(api, 3001, city="Новосибирск")

    assert (learner["time_zone"], learner["time_zone_source"], learner["revision"]) == ("Asia/Novosibirsk", "city", 1)
    [event] = await _outbox(resources, "users.user_registered.v3")
    assert (event["time_zone"], event["time_zone_source"], event["revision"]) == ("Asia/Novosibirsk", "city", 1)
    assert event["locale"] == "ru"


async def test_an_unknown_city_keeps_the_default_zone_and_says_so(api, resources):
    learner = await _register(api, 3002, city="Нигдебург")

    assert (learner["time_zone"], learner["time_zone_source"]) == ("Europe/Moscow", "default")
    [event] = await _outbox(resources, "users.user_registered.v3")
    assert (event["time_zone"], event["time_zone_source"]) == ("Europe/Moscow", "default")


async def test_a_zone_the_learner_chose_wins_over_the_city_and_is_spelled_canonically(api):
    learner = await _register(api, 3003, city="Москва", time_zone="asia/novosibirsk")

    assert (learner["time_zone"], learner["time_zone_source"]) == ("Asia/Novosibirsk", "learner")


async def test_the_phone_country_chooses_among_namesakes(api):
    # Moscow, Idaho is also «Москва» in the gazetteer: with a US number that is the one meant.
    in_russia = await _register(api, 3004, city="Москва")
    in_idaho = await _register(api, 3005, city="Москва", phone=US_PHONE)

    assert in_russia["time_zone"] == "Europe/Moscow"
    assert in_idaho["time_zone"] == "America/Los_Angeles"


@pytest.mark.parametrize("zone", ["Asia/Novosibirk", "MSK", "+07:00", "", "localtime", "x" * 65])
async def test_a_wrong_zone_is_a_422_naming_the_field_and_stores_nothing(api, resources, zone):
    response = await api.post("/internal/users/register", json=registration(3006, time_zone=zone))

    assert response.status_code == 422
    assert "body.time_zone" in [d["field"] for d in response.json()["error"]["details"]]
    async with resources.sessionmaker() as session:
        assert (await session.execute(select(User.id))).first() is None


# -- profile changes ----------------------------------------------------------------------------------


async def test_a_new_city_brings_its_zone(api, resources):
    learner = await _register(api, 3101, city="Москва")

    moved = await api.patch(f"/internal/users/{learner['id']}", json={"city": "Владивосток"})

    body = moved.json()
    assert (body["time_zone"], body["time_zone_source"], body["revision"]) == ("Asia/Vladivostok", "city", 2)
    [v3] = await _outbox(resources, "users.profile_updated.v3")
    assert v3["changed_fields"] == ["city", "time_zone"]
    assert (v3["city"], v3["time_zone"], v3["revision"], v3["telegram_id"]) == (
        "Владивосток",
        "Asia/Vladivostok",
        2,
        3101,
    )


async def test_a_new_city_keeps_a_zone_the_learner_chose(api, resources):
    learner = await _register(api, 3102, city="Москва", time_zone="Asia/Almaty")

    moved = (await api.patch(f"/internal/users/{learner['id']}", json={"city": "Екатеринбург"})).json()

    assert (moved["time_zone"], moved["time_zone_source"]) == ("Asia/Almaty", "learner")
    [v3] = await _outbox(resources, "users.profile_updated.v3")
    assert v3["changed_fields"] == ["city"]


async def test_a_city_the_gazetteer_does_not_know_falls_back_to_the_default(api):
    learner = await _register(api, 3103, city="Новосибирск")

    moved = (await api.patch(f"/internal/users/{learner['id']}", json={"city": "Нигдебург"})).json()

    assert (moved["time_zone"], moved["time_zone_source"]) == ("Europe/Moscow", "default")


async def test_choosing_a_zone_alone_is_published(api, resources):
    learner = await _register(api, 3104, city="Нигдебург")

    chosen = (await api.patch(f"/internal/users/{learner['id']}", json={"time_zone": "Asia/Novosibirsk"})).json()

    assert (chosen["time_zone"], chosen["time_zone_source"], chosen["revision"]) == ("Asia/Novosibirsk", "learner", 2)
    [v3] = await _outbox(resources, "users.profile_updated.v3")
    assert (v3["changed_fields"], v3["time_zone"], v3["time_zone_source"]) == (
        ["time_zone"],
        "Asia/Novosibirsk",
        "learner",
    )
    async with resources.sessionmaker() as session:
        details = await session.scalar(select(AuditLog.details).where(AuditLog.action == "profile_updated"))
    assert details == {"fields": ["time_zone"]}


async def test_a_null_zone_goes_back_to_the_zone_of_the_city(api):
    learner = await _register(api, 3105, city="Екатеринбург", time_zone="Europe/Moscow")

    back = (await api.patch(f"/internal/users/{learner['id']}", json={"time_zone": None})).json()

    assert (back["time_zone"], back["time_zone_source"]) == ("Asia/Yekaterinburg", "city")


async def test_a_wrong_zone_in_a_patch_is_a_422_and_changes_nothing(api, resources):
    learner = await _register(api, 3106, city="Москва")

    response = await api.patch(f"/internal/users/{learner['id']}", json={"city": "Омск", "time_zone": "Mars/Base"})

    assert response.status_code == 422
    assert "body.time_zone" in [d["field"] for d in response.json()["error"]["details"]]
    unchanged = (await api.get(f"/internal/users/{learner['id']}")).json()
    assert (unchanged["city"], unchanged["time_zone"], unchanged["revision"]) == ("Москва", "Europe/Moscow", 1)
    assert await _outbox(resources, "users.profile_updated.v3") == []


async def test_every_change_bumps_the_revision_and_nothing_else_does(api, resources):
    learner = await _register(api, 3107)
    path = f"/internal/users/{learner['id']}"

    await api.patch(path, json={"locale": "en"})
    await api.patch(path, json={"locale": "en", "city": "Москва"})  # nothing new
    await api.patch(path, json={"full_name": "Анна Петрова"})
    await asyncio.gather(*(api.patch(path, json={"time_zone": zone}) for zone in ("Asia/Omsk", "Asia/Tomsk")))

    assert (await api.get(path)).json()["revision"] == 5
    revisions = [event["revision"] for event in await _outbox(resources, "users.profile_updated.v3")]
    assert sorted(revisions) == [2, 3, 4, 5]
    async with resources.sessionmaker() as session:
        ids = (await session.execute(select(messaging.outbox.c.event_id))).scalars().all()
    assert len(set(ids)) == len(ids)


# -- learners registered before zones existed ---------------------------------------------------------


async def test_derive_time_zones_gives_learners_on_the_default_zone_the_zone_of_their_city(resources, settings):
    async with resources.sessionmaker() as session:
        session.add_all(
            [
                User(telegram_id=3201, locale="ru", city="Новосибирск"),  # as the migration left them
                User(telegram_id=3202, locale="ru", city="Нигдебург"),
                User(telegram_id=3203, locale="en", city=None),
                User(telegram_id=3204, locale="ru", city="Омск", time_zone="Asia/Tokyo", time_zone_source="learner"),
            ]
        )
        await session.commit()

    assert await derive_missing_time_zones(resources.sessionmaker, settings, batch_size=1) == 1

    async with resources.sessionmaker() as session:
        rows = (await session.execute(select(User).order_by(User.telegram_id))).scalars().all()
    assert [(u.time_zone, u.time_zone_source, u.revision) for u in rows] == [
        ("Asia/Novosibirsk", "city", 2),
        ("Europe/Moscow", "default", 1),
        ("Europe/Moscow", "default", 1),
        ("Asia/Tokyo", "learner", 1),
    ]
    [event] = await _outbox(resources, "users.profile_updated.v3")
    assert (event["user_id"], event["changed_fields"], event["revision"]) == (rows[0].id, ["time_zone"], 2)
    assert await derive_missing_time_zones(resources.sessionmaker, settings) == 0  # nothing left to do


async def test_the_migration_puts_existing_learners_on_the_default_zone_at_revision_1(service, scratch_database_url):
    from academy_runtime.migrations import migrate
    from sqlalchemy.ext.asyncio import create_async_engine

    await asyncio.to_thread(migrate, service, "upgrade", "03189e11a504", database_url=scratch_database_url)
    engine = create_async_engine(scratch_database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO users.users (telegram_id, city) VALUES (3301, 'Новосибирск')"))
        await asyncio.to_thread(migrate, service, "upgrade", "head", database_url=scratch_database_url)
        async with engine.connect() as conn:
            row = (await conn.execute(text("SELECT time_zone, time_zone_source, revision FROM users.users"))).one()
    finally:
        await engine.dispose()

    assert tuple(row) == ("Europe/Moscow", "default", 1)
    await assert_migrations_round_trip(service, scratch_database_url)
