"""Input errors found below the request boundary, rendered exactly like FastAPI's own 422s."""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError


def invalid_field(field: str, message: str) -> RequestValidationError:
    """A 422 naming `field` ("body.category", "query.category"), in the shape every 422 of the API has.

    Some input is only known to be wrong after a look at the database (an unknown category); clients
    still get one error format whatever found the problem.
    """
    return RequestValidationError([{"type": "value_error", "loc": tuple(field.split(".")), "msg": message}])
