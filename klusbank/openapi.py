"""The OpenAPI 3 document of the JSON API, built from the URL map.

Every API module documents its views with the ``operation`` decorator. The
builder walks the app's URL map, takes each rule under ``/api/v1`` whose view
carries an operation, turns ``<int:claim_id>`` into a ``{claim_id}`` path
parameter, and lets apispec's marshmallow plugin turn the schemas into
components. A module adds its paths by decorating its views; nothing needs to
be registered centrally. The document is served at ``/api/v1/openapi.json``.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, jsonify
from marshmallow import Schema, fields

API_PREFIX = "/api/v1"
OPENAPI_VERSION = "3.0.3"
DOCUMENT_VERSION = "1.0.0"
_OPERATION_ATTRIBUTE = "openapi_operation"
_EXTENSION_KEY = "klusbank_openapi_document"
_RULE_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_DOCUMENTED_METHODS = ("get", "post", "put", "patch", "delete")

View = TypeVar("View", bound=Callable[..., Any])
SchemaRef = type[Schema] | Schema | str


class ErrorSchema(Schema):
    """The body of every error response of the API."""

    status = fields.Integer(metadata={"description": "The HTTP status code."})
    message = fields.String(metadata={"description": "What failed, in plain words."})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        metadata={"description": "Messages per invalid field."},
    )
    code = fields.String(
        allow_none=True,
        metadata={"description": "Machine-readable rule name on 409 responses."},
    )
    link = fields.String(
        allow_none=True,
        metadata={"description": "Page that resolves the problem, if any."},
    )


_STANDARD_RESPONSES = {
    401: "Authentication required: send a bearer token or a session cookie.",
    404: "Not found, or not visible to the caller.",
    422: "Invalid input; `errors` names each field.",
}


def operation(
    *,
    summary: str,
    tags: Iterable[str],
    responses: Mapping[int, tuple[str, SchemaRef | None]],
    request_schema: SchemaRef | None = None,
    request_content: Mapping[str, SchemaRef] | None = None,
    query_schema: SchemaRef | None = None,
    description: str | None = None,
) -> Callable[[View], View]:
    """Attach an OpenAPI operation to a view; ``responses`` maps status to (text, schema).

    ``request_schema`` is the JSON body; ``request_content`` maps further
    media types, such as multipart/form-data, to their schemas. Error
    responses (401, 404, 422) are added to every operation with the shared
    error body; list 409 in ``responses`` where a rule can reject.
    """
    document: dict[str, Any] = {
        "summary": summary,
        "tags": list(tags),
        "responses": {},
    }
    if description:
        document["description"] = description
    if query_schema is not None:
        document["parameters"] = [{"in": "query", "schema": query_schema}]
    content = dict(request_content or {})
    if request_schema is not None:
        content = {"application/json": request_schema, **content}
    if content:
        document["requestBody"] = {
            "required": False,
            "content": {
                media_type: {"schema": schema} for media_type, schema in content.items()
            },
        }
    for status, (text, schema) in responses.items():
        document["responses"][str(status)] = _response(text, schema)
    for status, text in _STANDARD_RESPONSES.items():
        document["responses"].setdefault(str(status), _response(text, ErrorSchema))

    def decorate(view: View) -> View:
        setattr(view, _OPERATION_ATTRIBUTE, document)
        return view

    return decorate


def _response(text: str, schema: SchemaRef | None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": text}
    if schema is not None:
        response["content"] = {"application/json": {"schema": schema}}
    return response


def build_document(app: Flask) -> dict[str, Any]:
    """Return the OpenAPI document of every documented API view of the app."""
    spec = APISpec(
        title="Klusbank API",
        version=DOCUMENT_VERSION,
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin()],
        info={
            "description": (
                "Authenticate with `Authorization: Bearer <personal API token>`, "
                "or with the portal session cookie plus the `X-CSRFToken` header "
                "on writes. Errors are JSON objects with `status`, `message` "
                "and `errors` per field."
            )
        },
        servers=[{"url": "/"}],
        security=[{"bearerAuth": []}, {"sessionCookie": []}],
    )
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme(
        "sessionCookie", {"type": "apiKey", "in": "cookie", "name": "session"}
    )
    spec.components.schema("Error", schema=ErrorSchema)
    rules = sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule)
    for rule in rules:
        if not rule.rule.startswith(API_PREFIX + "/"):
            continue
        view = app.view_functions.get(rule.endpoint)
        document = getattr(view, _OPERATION_ATTRIBUTE, None)
        if document is None:
            continue
        path, parameters = _openapi_path(rule.rule)
        methods = [
            method.lower()
            for method in sorted(rule.methods or ())
            if method.lower() in _DOCUMENTED_METHODS
        ]
        operations = {}
        for method in methods:
            entry = dict(document)
            # The blueprint path keeps ids unique across domains.
            endpoint = rule.endpoint.removeprefix("api_v1.").replace(".", "_")
            entry["operationId"] = f"{endpoint}_{method}"
            entry["parameters"] = parameters + list(document.get("parameters", []))
            operations[method] = entry
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """Turn a werkzeug rule into an OpenAPI path and its path parameters."""
    parameters = []
    for match in _RULE_ARGUMENT.finditer(rule):
        converter = match.group("converter") or "string"
        schema = (
            {"type": "integer", "minimum": 1}
            if converter == "int"
            else {"type": "string"}
        )
        parameters.append(
            {
                "in": "path",
                "name": match.group("name"),
                "required": True,
                "schema": schema,
            }
        )
    path = _RULE_ARGUMENT.sub(lambda match: "{" + match.group("name") + "}", rule)
    return path, parameters


def serve_document():
    """Return the OpenAPI 3 document of the JSON API."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    document = app.extensions.get(_EXTENSION_KEY)
    if document is None:
        document = build_document(app)
        app.extensions[_EXTENSION_KEY] = document
    return jsonify(document)


def register(api: Blueprint) -> None:
    """Serve the document at ``openapi.json`` inside the API blueprint."""
    api.add_url_rule("/openapi.json", "openapi", serve_document, methods=["GET"])
