"""The catalog suite's baseline: a bare FastAPI app answering `GET /internal/courses` from memory.

`python -m bench.bare_app --port P --body FILE` serves FILE's bytes (a response the catalog gave in
the same run) as `application/json`, with no authentication, no database and no Redis, under the
same uvicorn settings as `academy-<service> api` (academy_runtime.cli): one worker process, uvicorn's
default loop and HTTP parser, no access log lines written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Response


def create_app(body: bytes) -> FastAPI:
    app = FastAPI(title="bench: bare endpoint")

    @app.get("/internal/courses")
    async def list_courses() -> Response:
        return Response(content=body, media_type="application/json")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body", type=Path, required=True, help="the JSON document to answer with")
    args = parser.parse_args()
    uvicorn.run(create_app(args.body.read_bytes()), host=args.host, port=args.port, log_config=None, proxy_headers=True)


if __name__ == "__main__":
    main()
