"""A service reads its own settings class from the resources, an event's context or a request."""

from typing import Annotated

import pytest
from academy_runtime.dependencies import ResourcesDep, settings_dependency
from academy_runtime.resources import Resources
from academy_runtime.settings import ServiceSettings, settings_as
from fastapi import APIRouter

from .conftest import RuntimeTestSettings, serving


class OtherServiceSettings(ServiceSettings):
    other_field: int = 1


def test_settings_as_narrows_to_the_services_own_class():
    settings = RuntimeTestSettings(_env_file=None)

    narrowed: RuntimeTestSettings = settings_as(settings, RuntimeTestSettings)

    assert narrowed is settings
    assert settings_as(settings, ServiceSettings) is settings  # the base class is always fine


def test_another_services_settings_are_a_wiring_error():
    with pytest.raises(TypeError, match="expected OtherServiceSettings, the process runs with RuntimeTestSettings"):
        settings_as(RuntimeTestSettings(_env_file=None), OtherServiceSettings)


async def test_resources_give_their_settings_as_the_services_class():
    resources = Resources.open(RuntimeTestSettings(_env_file=None))
    try:
        assert resources.settings_as(RuntimeTestSettings).db_schema == "rt_test"
        with pytest.raises(TypeError):
            resources.settings_as(OtherServiceSettings)
    finally:
        await resources.close()


SettingsDep = Annotated[RuntimeTestSettings, settings_dependency(RuntimeTestSettings)]
WrongSettingsDep = Annotated[OtherServiceSettings, settings_dependency(OtherServiceSettings)]
router = APIRouter()


@router.get("/settings")
async def read_settings(settings: SettingsDep, resources: ResourcesDep) -> dict[str, str]:
    return {"db_schema": settings.db_schema, "same": str(resources.settings is settings)}


@router.get("/wrong")
async def read_wrong(settings: WrongSettingsDep) -> dict[str, int]:
    return {"other_field": settings.other_field}


async def test_a_request_gets_the_settings_typed_and_a_mismatch_is_a_500():
    settings = RuntimeTestSettings(_env_file=None)
    resources = Resources.open(settings)
    try:
        async with serving(router, settings=settings, resources=resources) as http:
            right = await http.get("/settings")
            wrong = await http.get("/wrong")
    finally:
        await resources.close()

    assert right.json() == {"db_schema": "rt_test", "same": "True"}
    assert wrong.status_code == 500
