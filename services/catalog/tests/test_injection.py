"""Injection payloads (issue 9) in every text input of the catalog API: category, course, lesson and
community texts, the list filters (category, city), path ids and the Idempotency-Key. Never a 5xx; an accepted
text is stored and returned verbatim (also through the Redis cache); a filter matches literally; nothing else
changes; every table is still there."""

import pytest
from academy_runtime.injection_tests import (
    HEADER_INJECTION,
    PATH_PAYLOADS,
    PAYLOADS,
    accepted,
    assert_not_server_error,
    assert_tables_intact,
    fits,
    mismatches,
    quoted,
    refused_as_input,
    table_counts,
)

pytestmark = pytest.mark.integration

COMMAND_TABLES = ("audit_log", "outbox", "idempotency_keys")


async def test_category_titles_are_stored_verbatim_and_slugs_refuse_payloads(api, resources, service):
    before = await table_counts(resources, service)
    created, wrong = 0, []
    for n, (name, text) in enumerate(PAYLOADS.items()):
        bad_slug = await api.post("/internal/categories", json={"slug": text, "title_ru": "Т", "title_en": "T"})
        assert bad_slug.status_code == 422, f"slug={name}: {bad_slug.status_code}"
        body = {"slug": f"c{n}", "title_ru": text, "title_en": text}
        response = await api.post("/internal/categories", json=body)
        assert_not_server_error(response, f"title={name}")
        if not accepted(response):
            assert not fits(text, 1, 100), f"title={name} refused: {response.text[:300]}"
            continue
        created += 1
        wrong += [f"{name}: {m}" for m in mismatches(body, response.json())]
    listed = {c["slug"]: c for c in (await api.get("/internal/categories")).json()}
    for n, (name, text) in enumerate(PAYLOADS.items()):
        if f"c{n}" in listed:
            wrong += [f"{name} (listed): {m}" for m in mismatches({"title_ru": text}, listed[f"c{n}"])]
    assert not wrong, "\n".join(wrong)
    after = await assert_tables_intact(resources, service, before, may_grow=(*COMMAND_TABLES, "categories"))
    assert after["catalog.categories"] == before["catalog.categories"] + created


async def test_course_and_lesson_texts_are_stored_verbatim_through_the_cache(api, resources, service, make_payload):
    before = await table_counts(resources, service)
    wrong, published = [], {}
    for name, text in PAYLOADS.items():
        fields = {"title": text, "description": text, "full_description": text}
        lesson = {"title": text, "description": text, "order": 1}
        response = await api.post("/internal/courses", json=make_payload(**fields, lessons=[lesson]))
        assert_not_server_error(response, f"course texts={name}")
        if not accepted(response):
            assert not fits(text, 1, 255), f"course texts={name} refused: {response.text[:300]}"
            continue
        course = response.json()
        wrong += [f"{name}: {m}" for m in mismatches(fields, course)]
        wrong += [
            f"{name} (lesson): {m}" for m in mismatches({"title": text, "description": text}, course["lessons"][0])
        ]
        publish = await api.post(f"/internal/courses/{course['id']}/publish")
        assert publish.status_code == 200, publish.text
        published[course["id"]] = text
        for _ in range(2):  # a miss, then a hit of the cache
            got = (await api.get(f"/internal/courses/{course['id']}")).json()
            wrong += [f"{name} (read): {m}" for m in mismatches(fields, got)]
            wrong += [f"{name} (read lesson): {m}" for m in mismatches({"title": text}, got["lessons"][0])]
    listed = (await api.get("/internal/courses", params={"page_size": 100})).json()
    assert {c["id"]: c["title"] for c in listed["items"]} == published
    assert not wrong, "\n".join(wrong)
    await assert_tables_intact(resources, service, before, may_grow=(*COMMAND_TABLES, "courses", "lessons"))


async def test_edits_store_any_text_verbatim_and_touch_no_other_course(api, resources, service, new_course):
    other = await new_course(publish=True)
    course = await new_course(publish=True)
    lesson_id = course["lessons"][0]["id"]
    before = await table_counts(resources, service)
    wrong = []
    for name, text in PAYLOADS.items():
        for path, fields in (
            (f"/internal/courses/{course['id']}", {"title": text, "description": text, "full_description": text}),
            (f"/internal/courses/{course['id']}/lessons/{lesson_id}", {"title": text, "description": text}),
        ):
            response = await api.patch(path, json=fields)
            assert_not_server_error(response, f"PATCH {path} {name}")
            if not accepted(response):
                assert not fits(text, 1, 255), f"PATCH {path} {name} refused: {response.text[:300]}"
                continue
            got = response.json() if "lessons/" not in path else response.json()["lessons"][0]
            wrong += [f"{name} ({path}): {m}" for m in mismatches(fields, got)]
        added = await api.post(f"/internal/courses/{course['id']}/lessons", json={"title": text, "description": text})
        assert_not_server_error(added, f"add lesson {name}")
        if accepted(added):
            new = next(lesson for lesson in added.json()["lessons"] if lesson["order"] == len(added.json()["lessons"]))
            wrong += [f"{name} (added lesson): {m}" for m in mismatches({"title": text, "description": text}, new)]
    assert not wrong, "\n".join(wrong)
    assert (await api.get(f"/internal/courses/{other['id']}")).json() == other, "another course changed"
    await assert_tables_intact(resources, service, before, may_grow=(*COMMAND_TABLES, "lessons"))


async def test_the_category_filter_matches_literally(api, resources, service, new_course):
    await new_course(publish=True)
    await new_course(publish=True, category="pedicure")
    assert (await api.get("/internal/courses")).json()["total"] == 2
    before = await table_counts(resources, service)
    for name, text in PAYLOADS.items():
        response = await api.get("/internal/courses", params={"category": text})
        assert_not_server_error(response, f"category={name}")
        if accepted(response):  # a text that is no slug is refused; any accepted one matches no course here
            assert response.json()["total"] == 0, f"category={name} matched {response.json()['total']} courses"
        else:
            assert response.status_code == 422, name
        for path, param in (
            ("/internal/courses", "page"),
            ("/internal/courses", "page_size"),
            ("/internal/courses/1", "include_drafts"),
            ("/internal/courses/1", "include_archived"),
        ):
            refused_as_input(await api.get(path, params={param: text}), f"{path}?{param}={name}")
    await assert_tables_intact(resources, service, before)


async def test_community_texts_are_stored_verbatim_and_the_city_filter_matches_literally(api, resources, service):
    async def community(city: str, title: str, description: str | None = None):
        body = {"title": title, "type": "city", "city": city, "telegram_link": "https://t.me/beauty_chat"}
        if description is not None:
            body["description"] = description
        return await api.post("/internal/communities", json=body)

    moscow = await community("Москва", "Бьюти Москва")
    assert moscow.status_code == 201, moscow.text
    everyone = await api.get("/internal/communities")  # cached: the unfiltered answer
    assert len(everyone.json()) == 1
    before = await table_counts(resources, service)
    stored, wrong = {}, []
    for name, text in PAYLOADS.items():
        response = await community(text, text, text)
        assert_not_server_error(response, f"community={name}")
        if not accepted(response):
            assert not fits(text, 1, 100), f"community={name} refused: {response.text[:300]}"
            continue
        stored[name] = response.json()
        wrong += [f"{name}: {m}" for m in mismatches({"title": text, "description": text, "city": text}, stored[name])]
    assert not wrong, "\n".join(wrong)
    for name, text in PAYLOADS.items():
        for _ in range(2):  # a miss, then a hit of the cache
            response = await api.get("/internal/communities", params={"city": text})
            assert_not_server_error(response, f"city filter={name}")
            if not accepted(response):
                assert not fits(text, 1, 100), name
                continue
            ids = [c["id"] for c in response.json()]
            assert ids == [stored[name]["id"]], f"city={name!r} matched {[c['city'] for c in response.json()]}"
        response = await api.get("/internal/communities", params={"category": text})
        assert response.status_code == 422, f"category={name}"
    assert len((await api.get("/internal/communities")).json()) == 1 + len(stored)
    await assert_tables_intact(resources, service, before, may_grow=(*COMMAND_TABLES, "communities"))


async def test_a_blank_city_filter_matches_no_chat(api):
    created = await api.post(
        "/internal/communities",
        json={"title": "Бьюти Москва", "type": "city", "city": "Москва", "telegram_link": "https://t.me/beauty_chat"},
    )
    assert created.status_code == 201
    response = await api.get("/internal/communities", params={"city": "   "})
    assert response.status_code < 500
    assert response.status_code == 422 or response.json() == [], response.text


async def test_path_ids_refuse_payloads(api, resources, service, new_course):
    course = await new_course(publish=True)
    before = await table_counts(resources, service)
    for name, text in PATH_PAYLOADS.items():
        segment = quoted(text)
        for method, path in (
            ("GET", f"/internal/courses/{segment}"),
            ("PATCH", f"/internal/courses/{segment}"),
            ("POST", f"/internal/courses/{segment}/publish"),
            ("POST", f"/internal/courses/{segment}/archive"),
            ("PATCH", f"/internal/courses/{course['id']}/lessons/{segment}"),
            ("DELETE", f"/internal/courses/{course['id']}/lessons/{segment}"),
            ("PATCH", f"/internal/communities/{segment}"),
            ("DELETE", f"/internal/communities/{segment}"),
        ):
            body = {"title": "Новое"} if method == "PATCH" else None
            refused_as_input(await api.request(method, path, json=body), f"{method} {path} ({name})")
    refused_as_input(await api.get("/internal/courses/../../etc/passwd"), "GET ../../etc/passwd")
    assert (await api.get(f"/internal/courses/{course['id']}")).json() == course
    await assert_tables_intact(resources, service, before)


async def test_idempotency_keys_are_opaque_text(api, resources, service, make_payload):
    before = await table_counts(resources, service)
    created = {}
    for n, (name, text) in enumerate([*PAYLOADS.items(), ("header_injection", HEADER_INJECTION)]):
        headers = {"idempotency-key": text.encode()}
        body = {"slug": f"k{n}", "title_ru": "Т", "title_en": "T"}
        first = await api.post("/internal/categories", json=body, headers=headers)
        assert_not_server_error(first, f"Idempotency-Key={name}")
        if not accepted(first):
            refused_as_input(first, f"Idempotency-Key={name}")
            continue
        replay = await api.post("/internal/categories", json=body, headers=headers)
        assert (replay.status_code, replay.json()) == (first.status_code, first.json()), name
        created[name] = first.json()["slug"]
    assert set(PAYLOADS) - set(created) <= {"long", "crlf_inside"}, sorted(set(PAYLOADS) - set(created))
    after = await assert_tables_intact(resources, service, before, may_grow=(*COMMAND_TABLES, "categories"))
    assert after["catalog.categories"] == before["catalog.categories"] + len(created)
