"""Injection payloads (issue 9) in the progress API's inputs: the transcript's name and language, the
preferences' time zone, the reports' query parameters, and the ids in every path. Never a 5xx; what is not
valid is a 4xx; nothing else changes; every table is still there."""

import pytest
from academy_runtime.injection_tests import (
    PATH_PAYLOADS,
    PAYLOADS,
    assert_not_server_error,
    assert_tables_intact,
    quoted,
    refused_as_input,
    table_counts,
)

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
async def _registered_learners(register_learners):
    """The learners these tests write for, registered (an unknown one gets 404 `learner_not_found`)."""
    await register_learners(7, 8)


async def test_preferences_refuse_payloads_as_time_zones(api, resources, service):
    saved = await api.put("/internal/learners/7/preferences", json={"timezone": "Asia/Vladivostok"})
    assert saved.status_code == 200, saved.text
    before = await table_counts(resources, service)
    for name, text in PAYLOADS.items():
        response = await api.put("/internal/learners/7/preferences", json={"timezone": text})
        assert response.status_code == 422, f"timezone={name}: {response.status_code} {response.text[:200]}"
        refused_as_input(
            await api.put("/internal/learners/7/preferences", json={"reminders_opt_out": text}), f"opt_out={name}"
        )
    assert (await api.get("/internal/learners/7/preferences")).json() == saved.json()
    await assert_tables_intact(resources, service, before)


async def test_transcript_details_never_make_a_server_error(api, resources, service):
    before = await table_counts(resources, service)
    for name, text in PAYLOADS.items():
        named = await api.post("/internal/learners/8/transcript", json={"full_name": text})
        assert_not_server_error(named, f"full_name={name}")
        language = await api.post("/internal/learners/8/transcript", json={"language": text})
        assert language.status_code == 422, f"language={name}: {language.status_code} {language.text[:200]}"
    await assert_tables_intact(resources, service, before, may_grow=("user_transcripts", "idempotency_keys"))


async def test_report_parameters_refuse_payloads(api, operator_api, resources, service):
    before = await table_counts(resources, service)
    for name, text in PAYLOADS.items():
        for path, param in (
            ("/internal/courses/popular", "limit"),
            ("/internal/learners/inactive", "days"),
            ("/internal/learners/inactive", "limit"),
            ("/internal/learners/inactive", "after_user_id"),
        ):
            refused_as_input(await operator_api.get(path, params={param: text}), f"{path}?{param}={name}")
    await assert_tables_intact(resources, service, before)


async def test_path_ids_refuse_payloads(api, resources, service):
    before = await table_counts(resources, service)
    for name, text in PATH_PAYLOADS.items():
        s = quoted(text)
        for method, path, body in (
            ("GET", f"/internal/learners/{s}/courses", None),
            ("GET", f"/internal/learners/{s}/courses/1", None),
            ("GET", f"/internal/learners/1/courses/{s}", None),
            ("POST", f"/internal/learners/{s}/enrolments", {"course_id": 1}),
            ("POST", f"/internal/learners/{s}/lessons/1/complete", {}),
            ("POST", f"/internal/learners/1/lessons/{s}/complete", {}),
            ("GET", f"/internal/learners/{s}/preferences", None),
            ("PUT", f"/internal/learners/{s}/preferences", {"timezone": "Europe/Moscow"}),
            ("POST", f"/internal/learners/{s}/transcript", {}),
        ):
            refused_as_input(await api.request(method, path, json=body), f"{method} {path} ({name})")
    refused_as_input(await api.get("/internal/learners/../../etc/passwd"), "GET ../../etc/passwd")
    await assert_tables_intact(resources, service, before)
