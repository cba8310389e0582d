"""`GET /api/openapi.json`: an OpenAPI 3.1 description of the whole API, generated from the route table.

Each operation comes from one route of `server.api.app.api_routes()`: its path and path parameters, its
methods, who may call it (the route's `Access` rule, as the `x-roles` extension and in words), a
summary from its handler's docstring, and its contract: the pydantic models of its JSON body and
answer (`api_route(..., body=, response=)`), whose JSON schemas fill `components/schemas`, or the media
types of a body or answer that is not JSON (`consumes=`, `produces=`). So the description cannot drift
from what the server enforces and answers.

`python -m server.api.openapi --write web/openapi.json` writes the document without a database or
settings: the web build generates its API types from it (`web/src/api/schema.d.ts`).

It is public: it says what the published source code says, holds no data, and lets integrators
(HIS, PACS and EMR vendors) and their tools read it before they have an account.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema
from pydantic_core import core_schema
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from server.api.routing import Access, ApiRoute, Context, Contract, api_route
from server.api.schemas.common import ErrorBody
from server.api.schemas.openapi import OpenApiDocument
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
SIGNED_IN: list[dict[str, list[str]]] = [{"session": []}, {"bearer": []}]
ERROR_RESPONSE = {"$ref": "#/components/responses/Error"}
REF_TEMPLATE = "#/components/schemas/{model}"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
JSON = "application/json"


class _Schemas(GenerateJsonSchema):
    """Pydantic's JSON Schema, with every field of an answer required: `model_dump` always writes them
    all, so a client may rely on each (a default only makes a field optional in a request)."""

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        if self.mode == "serialization" and field["type"] != "typed-dict-field":
            return True  # a TypedDict's NotRequired keys are left out when absent
        return super().field_is_required(field, total)


def _media_schema(media_type: str) -> dict[str, Any]:
    """A non-JSON body: text, or bytes (an image, a PDF, a DICOM file, a multipart/related stream...)."""
    if media_type.startswith("text/") or media_type.endswith("+xml"):
        return {"type": "string"}
    return {"type": "string", "contentMediaType": media_type.split(";")[0].strip()}


class _ModelRefs:
    """The models of every route, turned into JSON schemas together so that names are unique."""

    def __init__(self, routes: Sequence[ApiRoute]) -> None:
        wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorBody, "serialization")]
        for route in routes:
            contract = route.contract
            if contract.body is not None:
                wanted.append((contract.body, "validation"))
            answers = [contract.response, *contract.others.values()]
            wanted += [(model, "serialization") for model in answers if model is not None]
        unique = list(dict.fromkeys(wanted))
        self.refs, top = models_json_schema(unique, ref_template=REF_TEMPLATE, schema_generator=_Schemas)
        self.schemas: dict[str, Any] = dict(sorted(top.get("$defs", {}).items()))

    def __call__(self, model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return dict(self.refs[(model, mode)])


def _request_body(contract: Contract, ref: _ModelRefs) -> dict[str, Any] | None:
    if contract.body is not None:
        return {"required": True, "content": {JSON: {"schema": ref(contract.body, "validation")}}}
    if contract.consumes:
        content = {media: {"schema": _media_schema(media)} for media in contract.consumes}
        return {"required": True, "content": content}
    return None


def _answer(
    model: type[BaseModel] | None, produces: tuple[str, ...] | None, ref: _ModelRefs, description: str
) -> dict[str, Any]:
    """One response: JSON of `model`, or the media types `produces` names (empty: no body at all)."""
    if produces is None:
        if model is None:
            return {"description": description}  # not declared yet
        return {"description": description, "content": {JSON: {"schema": ref(model, "serialization")}}}
    content = {
        media: {"schema": ref(model, "serialization") if model is not None else _media_schema(media)}
        for media in produces
    }
    return {"description": description, **({"content": content} if content else {})}


def undeclared(document: dict[str, Any]) -> list[str]:
    """Operations of `document` whose JSON body or JSON answer has no schema ("POST /api/x: body")."""
    missing = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            lacks = []
            if (
                method.upper() in BODY_METHODS
                and "requestBody" not in operation
                and not operation.get("x-no-body")
            ):
                lacks.append("body")
            success = [code for code in operation["responses"] if code.startswith("2")]
            if not any("content" in operation["responses"][c] or c == "204" for c in success) and not (
                operation.get("x-no-content")
            ):
                lacks.append("response")
            if lacks:
                missing.append(f"{method.upper()} {path}: {', '.join(lacks)}")
    return missing


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


def _operation(route: ApiRoute, method: str, operation_id: str, ref: _ModelRefs) -> dict[str, Any]:
    handler = handler_of(route)
    summary, details = _summary(handler)
    access = route.access
    kind, roles, who = _who(access)
    contract = route.contract
    produces = contract.produces
    responses: dict[str, Any] = {
        str(contract.status): _answer(
            contract.response, produces, ref, "No content." if produces == () else "Success."
        ),
        **{
            str(status): _answer(model, produces, ref, "See the answer's fields.")
            for status, model in contract.others.items()
        },
        "4XX": ERROR_RESPONSE,
    }
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
    if method in BODY_METHODS:
        if (request_body := _request_body(contract, ref)) is not None:
            operation["requestBody"] = request_body
        elif contract.consumes == ():
            operation["x-no-body"] = True  # declared: the operation takes no body
    if produces == ():
        operation["x-no-content"] = True
    if not access.is_public:
        responses["401"] = {"description": "Not signed in."}
        responses["403"] = {"description": "The caller's role or relation to the record does not allow it."}
    return operation


def openapi_document(routes: Sequence[BaseRoute], *, title: str, api_version: str) -> dict[str, Any]:
    """The OpenAPI document of `routes` (each a plain route carrying its access rule)."""
    paths: dict[str, dict[str, Any]] = {}
    seen: Counter[str] = Counter()
    plain = [route for route in routes if isinstance(route, ApiRoute)]
    assert len(plain) == len(routes), "every described route is an ApiRoute (access rule and contract)"
    ref = _ModelRefs(plain)
    for route in plain:
        template = PATH_PARAM.sub(r"{\1}", route.path)
        for method in _methods(route):
            seen[route.name] += 1
            operation_id = route.name if seen[route.name] == 1 else f"{route.name}_{seen[route.name]}"
            paths.setdefault(template, {})[method.lower()] = _operation(route, method, operation_id, ref)
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
            "schemas": ref.schemas,
            "responses": {
                "Error": {
                    "description": "The request was refused; `error` is a stable code, `detail` says why.",
                    "content": {JSON: {"schema": ref(ErrorBody, "serialization")}},
                }
            },
        },
    }


TITLE = "County telemedicine platform"


def get_openapi(ctx: Context) -> Response:
    """This API's OpenAPI 3.1 description, generated from the route table."""
    described = [r for r in ctx.request.app.routes if isinstance(r, ApiRoute)]
    return JSONResponse(openapi_document(described, title=TITLE, api_version=VERSION))


routes = [api_route("/api/openapi.json", get_openapi, access=Access.public(), response=OpenApiDocument)]


def main(argv: Sequence[str] | None = None) -> None:
    """Write the document of `server.api.app.api_routes()` (no database, no settings needed)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--write", type=Path, help="the file to write (default: standard output)")
    parser.add_argument("--check", action="store_true", help="fail if an operation lacks a schema")
    args = parser.parse_args(argv)
    from server.api.app import api_routes  # here: the app imports this module

    document = openapi_document(api_routes(), title=TITLE, api_version=VERSION)
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if args.write is None:
        print(text, end="")
    elif not args.write.exists() or args.write.read_text(encoding="utf-8") != text:
        args.write.write_text(text, encoding="utf-8")  # untouched when unchanged: no needless rebuild
    if args.check and (missing := undeclared(document)):
        raise SystemExit("operations without a schema:\n" + "\n".join(missing))


if __name__ == "__main__":
    main()
