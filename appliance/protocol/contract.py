"""The sync protocol's OpenAPI document as code: each operation's parameters, body limit and schemas.

Servers check requests with it, so what the document says is what is enforced: one source of truth.
"""

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from appliance.protocol import OPENAPI_PATH

DOCUMENT_URI = "urn:entrance-appliance:sync:openapi"
MAX_DETAILS = 20  # problems listed in one answer; the document allows no more

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")
FORMATS = FormatChecker(formats=())


@FORMATS.checks("date", raises=ValueError)
def _is_day(value) -> bool:
    return not isinstance(value, str) or bool(date.fromisoformat(value)) and len(value) == 10


@FORMATS.checks("date-time", raises=ValueError)
def _is_timestamp(value) -> bool:
    return not isinstance(value, str) or bool(parse_timestamp(value))


def parse_timestamp(text: str) -> datetime:
    """An RFC 3339 timestamp as an aware datetime; ValueError for anything else.

    fromisoformat alone accepts forms RFC 3339 does not (no offset, basic format): a naive time from
    a device with an unset clock must not pass as an instant.
    """
    if not _RFC3339.fullmatch(text):
        raise ValueError(f"{text!r} is not an RFC 3339 timestamp with offset")
    return datetime.fromisoformat(text.upper().replace("T", " ").replace("Z", "+00:00"))


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as both ends write it: '2026-03-09T07:31:05.120Z'."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ProtocolError(Exception):
    """Base class of the errors of the sync protocol, on either side of it."""


class RequestRejected(ProtocolError, ValueError):
    """A request the protocol refuses, with the HTTP status and a message the sender can act on."""

    def __init__(self, status: int, error: str, message: str, details=(), headers=None):
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.details = list(details)[:MAX_DETAILS]
        self.headers = dict(headers or {})

    def to_json(self) -> dict:
        answer = {"error": self.error, "message": self.message}
        if self.details:
            answer["details"] = [{"where": where, "message": message} for where, message in self.details]
        return answer


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path, query or header
    required: bool
    schema: dict
    validator: Draft202012Validator


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    path: str
    security: tuple[str, ...]  # accepted schemes; () for public
    parameters: tuple[Parameter, ...]
    body: Draft202012Validator | None
    max_body_bytes: int


class Contract:
    """The operations of an OpenAPI document, ready to check requests against."""

    def __init__(self, document: dict):
        self.document = document
        self._registry = Registry().with_resource(
            DOCUMENT_URI, Resource.from_contents(document, default_specification=DRAFT202012)
        )
        self.operations: dict[str, Operation] = {}
        for path, item in document["paths"].items():
            for method in ("get", "put", "post", "delete", "patch"):
                if method in item:
                    operation = self._operation(path, method, item)
                    self.operations[operation.id] = operation

    @classmethod
    def load(cls, path=OPENAPI_PATH) -> "Contract":
        with open(path, encoding="utf-8") as file:
            return cls(json.load(file))

    def pattern(self, schema: str) -> re.Pattern:
        """The pattern of one of the document's string schemas, e.g. "Name", for checks outside a request."""
        return re.compile(self.document["components"]["schemas"][schema]["pattern"])

    def validator(self, schema: dict) -> Draft202012Validator:
        """A validator for ``schema``, whose references point into the document."""
        return Draft202012Validator(_inlined(schema, self.document), registry=self._registry, format_checker=FORMATS)

    def schema_validator(self, name: str) -> Draft202012Validator:
        return self.validator({"$ref": f"#/components/schemas/{name}"})

    def parameters(self, operation_id: str, path: dict, query, headers) -> dict:
        """The operation's parameters, converted to their types and checked; 400 on the first problems."""
        values, problems = {}, []
        for parameter in self.operations[operation_id].parameters:
            source = {"path": path, "query": query, "header": headers}[parameter.location]
            raw = (
                source.getlist(parameter.name)
                if hasattr(source, "getlist")
                else ([source[parameter.name]] if parameter.name in source else [])
            )
            if not raw:
                if parameter.required:
                    problems.append((parameter.name, f"the {parameter.location} parameter is required"))
                elif "default" in parameter.schema:
                    values[parameter.name] = parameter.schema["default"]
                continue
            if len(raw) > 1 and parameter.location == "query":
                problems.append((parameter.name, "given more than once"))
                continue
            value = _convert(raw[-1], parameter.schema)
            errors = sorted(parameter.validator.iter_errors(value), key=lambda e: e.message)
            if errors:
                problems.append((parameter.name, _plain(errors[0])))
            else:
                values[parameter.name] = value
        if problems:
            raise RequestRejected(400, "bad_parameter", "; ".join(f"{w}: {m}" for w, m in problems), problems)
        return values

    def body(self, operation_id: str, raw: bytes, content_type: str | None):
        """The JSON body, checked against the operation's schema: 415 or 422 if it is not right."""
        operation = self.operations[operation_id]
        media_type = (content_type or "").split(";")[0].strip().lower()
        if media_type and media_type != "application/json" and not media_type.endswith("+json"):
            raise RequestRejected(
                415, "unsupported_media_type", f"the body must be application/json, not {_short(media_type)}"
            )
        if not raw.strip():
            raise RequestRejected(422, "invalid_body", "a JSON body is required")
        try:
            value = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            raise RequestRejected(
                422, "invalid_body", f"the body is not valid JSON: {_short(str(error), 200)}"
            ) from None
        problems = []
        for error in sorted(operation.body.iter_errors(value), key=lambda e: list(map(str, e.absolute_path))):
            problems.extend(_explain(error))
        if problems:
            first = f"{problems[0][0]}: {problems[0][1]}"
            more = f" (and {len(problems) - 1} more problem(s), see details)" if len(problems) > 1 else ""
            raise RequestRejected(422, "invalid_body", f"the body does not match the protocol: {first}{more}", problems)
        return value

    def _operation(self, path: str, method: str, item: dict) -> Operation:
        spec = item[method]
        parameters = {}
        for parameter in item.get("parameters", []) + spec.get("parameters", []):
            parameter = self._resolve(parameter)
            parameters[(parameter["name"], parameter["in"])] = Parameter(
                parameter["name"],
                parameter["in"],
                parameter.get("required", False),
                parameter["schema"],
                self.validator(parameter["schema"]),
            )
        body = None
        if "requestBody" in spec:
            body = self.validator(spec["requestBody"]["content"]["application/json"]["schema"])
        security = spec.get("security", self.document.get("security", []))
        return Operation(
            spec["operationId"],
            method.upper(),
            path,
            tuple(name for requirement in security for name in requirement),
            tuple(parameters.values()),
            body,
            spec.get("x-max-body-bytes", 0),
        )

    def _resolve(self, node: dict) -> dict:
        while "$ref" in node:
            node = _pointed(self.document, node["$ref"])
        return node


def _pointed(document: dict, reference: str):
    """What a ``#/...`` JSON pointer points to in ``document``."""
    target = document
    for part in reference.removeprefix("#/").split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target


# Keys that only describe: beside a $ref they change nothing a validator checks.
_ANNOTATIONS = frozenset({"description", "title", "example", "examples", "default", "deprecated", "readOnly"})


def _inlined(schema, document: dict, within: tuple[str, ...] = ()):
    """The schema with each ``#/components/...`` reference replaced by what it points to, so validating a
    list of thousands of items does not look each reference up again for every item (it halves the
    time); a reference back into itself stays a reference into the registered document."""
    if isinstance(schema, list):
        return [_inlined(value, document, within) for value in schema]
    if not isinstance(schema, dict):
        return schema
    reference = schema.get("$ref")
    if not (isinstance(reference, str) and reference.startswith("#")):
        return {key: _inlined(value, document, within) for key, value in schema.items()}
    if reference in within:
        return {**schema, "$ref": DOCUMENT_URI + reference}
    target = _inlined(_pointed(document, reference), document, (*within, reference))
    rest = {key: value for key, value in schema.items() if key != "$ref"}
    if rest.keys() <= _ANNOTATIONS:
        return target
    return {"allOf": [target], **{key: _inlined(value, document, within) for key, value in rest.items()}}


def _convert(raw: str, schema: dict):
    """A parameter's text as the type its schema asks for; left as text when it is not one."""
    kind = schema.get("type")
    if kind == "integer" and re.fullmatch(r"[+-]?\d{1,18}", raw):
        return int(raw)
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


def _explain(error) -> list[tuple[str, str]]:
    """Where and what, for one validation error; for ``oneOf``, the problems of the closest alternative."""
    if error.validator == "oneOf" and error.context:
        branches: dict[int, list] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)

        # The alternative meant is the one whose distinguishing 'kind' (a const or a not) matched.
        def distance(errors):
            return (any(e.validator in ("const", "not") for e in errors), len(errors))

        closest = min(branches.values(), key=distance)
        return [item for sub in closest for item in _explain(sub)]
    return [(_where(error.absolute_path), _plain(error))]


def _where(path) -> str:
    where = "body"
    for part in path:
        where += f"[{part}]" if isinstance(part, int) else f".{part}"
    return where


def _plain(error) -> str:
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"unknown field(s) {', '.join(map(repr, extra))[:200]}; allowed: {allowed}"
    if error.validator == "format":
        return f"{_short(error.instance)} is not a valid {error.validator_value}"
    if error.validator == "const":
        return f"must be {json.dumps(error.validator_value)}"
    if error.validator == "not":
        return f"{_short(error.instance)} is not allowed here"
    return _short(error.message, 300)


def _short(value, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


async def read_body(request, limit: int) -> bytes:
    """A Starlette request's body, refused with 413 as soon as it is known to exceed ``limit``
    (before reading it all)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(len(body), limit)
    return bytes(body)


def _too_large(size: int, limit: int) -> RequestRejected:
    return RequestRejected(
        413,
        "too_large",
        f"the body has {size} bytes or more; this operation takes at most {limit} bytes (x-max-body-bytes)",
    )
