"""The API's interactive documentation: Swagger UI, from the swagger-ui-py package's files."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse

from core.errors import NotFound
from core.web import render_page

pages = APIRouter(include_in_schema=False)

API_DESCRIPTION = """System of record of Mexico's AI ethics council.

Authenticate with `Authorization: Bearer <token>`: create a token on your account page
(`/account`), then choose **Authorize** here to try operations as yourself.

A company's work, step by step (each operation shows an example body):

1. `POST /api/v1/organisations/{organization_id}/products`: describe the product; its risk
   level comes from the questionnaire answers (`GET /api/v1/risk-questionnaire`).
2. `POST /api/v1/products/{product_id}/applications`: start an application on the guideline
   version in force (`GET /api/v1/guidelines` names it).
3. `PUT /api/v1/applications/{application_id}/answers/{criterion_code}`: assess each criterion
   (or `POST /api/v1/applications/{application_id}/answers` with several at once), and attach
   evidence (`.../files`, `.../links`).
4. `POST /api/v1/applications/{application_id}/submit` (no body): a 422 names each criterion that
   still needs attention; then follow it with `GET /api/v1/applications/{application_id}`.
"""

BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API token created on the account page (`/account`).",
}


def declare_bearer_tokens(app: FastAPI) -> None:
    """Let the OpenAPI document say that operations take a bearer token, or none for public ones."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["token"] = (
            BEARER_SCHEME
        )
        schema["security"] = [{"token": []}, {}]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _swagger_ui_dir() -> Path:
    """Where the installed package keeps Swagger UI's built files (found without importing it)."""
    spec = find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed: run `bash bin/install`")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


SWAGGER_UI_DIR = _swagger_ui_dir()
# Only the two files the page loads; the package holds an editor and source maps besides.
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
}
ASSET_MAX_AGE = 86_400


@pages.get("/api/v1/docs")
def api_docs(request: Request) -> HTMLResponse:
    """Swagger UI over /api/v1/openapi.json, started by a script file (the CSP stays strict)."""
    return render_page(request, "core/api_docs.html")


@pages.get("/api/v1/docs/{asset}")
def api_docs_asset(asset: str) -> FileResponse:
    """One of Swagger UI's files, as the installed package ships it."""
    media_type = ASSETS.get(asset)
    if media_type is None:
        raise NotFound()
    return FileResponse(
        SWAGGER_UI_DIR / asset,
        media_type=media_type,
        headers={"Cache-Control": f"public, max-age={ASSET_MAX_AGE}"},
    )
