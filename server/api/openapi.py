"""`GET /api/openapi.json`: an OpenAPI 3.1 description of the whole API, generated from the route table.

Each operation comes from one route of `server.api.app.api_routes()`: its path and path parameters, its
methods, who may call it (the route's `Access` rule, as the `x-roles` extension and in words) and a
summary from its handler's docstring. So the description cannot drift from what the server enforces.

It is public: it says what the published source code says, holds no data, and lets integrators
(HIS, PACS and EMR vendors) and their tools read it before they have an account.
"""

from __future__ import annotations

import inspect
import re
from collections import Counter
from collections.abc import Callable, Sequence
from importlib.metadata import version
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from server.api.routing import Access, Context, api_route
from server.auth.sessions import SESSION_COOKIE
from server.community.models import Role

OPENAPI_VERSION = "3.1.0"
VERSION = version("telemed")
PATH_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")
CONVERTOR_SCHEMAS: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "path": {"type": "string"},
    "int": {"type": "integer", "minimum": 0},
    "float": {"type": "number", "minimum": 0},
    "uuid": {"type": "string", "format": "uuid"},
}
SIGNED_IN = [{"session": []}, {"bearer": []}]
ERROR_RESPONSE = {"$ref": "#/components/responses/Error"}


def handler_of(route: Route) -> Callable[..., Any]:
    """The function a route runs: the handler `api_route` wraps (its endpoint closes over it), or the endpoint."""
    wrapped = inspect.getclosurevars(route.endpoint).nonlocals.get("handler")
    return wrapped if callable(wrapped) else route.endpoint


def _methods(route: Route) -> list[str]:
    """Declared methods; the HEAD Starlette adds to every GET is not an operation of its own."""
    methods = set(route.methods or ())
    if "GET" in methods:
        methods.discard("HEAD")
    return sorted(methods)


def _summary(handler: Callable[..., Any]) -> tuple[str, str]:
    """The docstring's first line and the rest, or the handler's name in words."""
    doc = inspect.getdoc(handler) or ""
    first, _, rest = doc.partition("\n")
    return (first.strip() or handler.__name__.replace("_", " ")), rest.strip()


def _who(access: Access) -> tuple[str, list[str], str]:
    """The `x-access` kind, the `x-roles` list and a sentence for the description."""
    if access.share_link:
        return "share_link", [], "Reached without an account, by the share link token in the path."
    if access.roles is None:
        return "public", [], "Public: no sign-in needed."
    roles = sorted(role.value for role in access.roles)
    if access.roles == frozenset(Role):
        return "signed_in", roles, "Any signed-in user."
    return "roles", roles, f"Roles allowed: {', '.join(roles)}."


def _parameters(path: str) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": CONVERTOR_SCHEMAS.get(convertor or "str", {"type": "string"}),
        }
        for name, convertor in PATH_PARAM.findall(path)
    ]


def _operation(route: Route, method: str, operation_id: str) -> dict[str, Any]:
    handler = handler_of(route)
    summary, details = _summary(handler)
    access: Access = route.access  # type: ignore[attr-defined]
    kind, roles, who = _who(access)
    responses: dict[str, Any] = {"200": {"description": "Success."}, "4XX": ERROR_RESPONSE}
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "description": f"{details}\n\n{who}".strip(),
        "tags": [handler.__module__.rsplit(".", 1)[-1]],
        "x-access": kind,
        "x-roles": roles,
        "security": [] if access.is_public else SIGNED_IN,
        "responses": responses,
    }
    if parameters := _parameters(route.path):
        operation["parameters"] = parameters
    if not access.is_public:
        responses["401"] = {"description": "Not signed in."}
        responses["403"] = {"description": "The caller's role or relation to the record does not allow it."}
    return operation


def openapi_document(routes: Sequence[BaseRoute], *, title: str, api_version: str) -> dict[str, Any]:
    """The OpenAPI document of `routes` (each a plain route carrying its access rule)."""
    paths: dict[str, dict[str, Any]] = {}
    seen: Counter[str] = Counter()
    for route in routes:
        assert isinstance(route, Route), f"{route} is not a plain route"
        template = PATH_PARAM.sub(r"{\1}", route.path)
        for method in _methods(route):
            seen[route.name] += 1
            operation_id = route.name if seen[route.name] == 1 else f"{route.name}_{seen[route.name]}"
            paths.setdefault(template, {})[method.lower()] = _operation(route, method, operation_id)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title,
            "version": api_version,
            "description": (
                "县域远程诊断平台 API. Unsafe requests carry JSON bodies (415 otherwise); browsers send "
                "the session cookie and the `X-CSRF-Token` header, programs a bearer token from "
                '`POST /api/auth/login` with `"bearer": true`. Errors are `{"error": code, "detail": text}`. '
                "`x-roles` lists the roles an operation admits; records are further limited to those the "
                "caller may see."
            ),
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "detail"],
                    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
                }
            },
            "responses": {
                "Error": {
                    "description": "The request was refused; `error` is a stable code, `detail` says why.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
            },
        },
    }


def get_openapi(ctx: Context) -> Response:
    """This API's OpenAPI 3.1 description, generated from the route table."""
    described = [r for r in ctx.request.app.routes if isinstance(r, Route) and hasattr(r, "access")]
    return JSONResponse(
        openapi_document(described, title="County telemedicine platform", api_version=VERSION)
    )


routes = [api_route("/api/openapi.json", get_openapi, access=Access.public())]
