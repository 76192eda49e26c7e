"""Media types, request bodies and request options, as kube-apiserver's handlers take them.

Faithful:
- bodies: `Content-Type` picks the decoder (none means JSON); any other type is 415
  `the body of the request was in an unknown format - accepted media types include:
  application/json, application/yaml, application/vnd.kubernetes.protobuf` (custom
  resources: JSON and YAML), and a PATCH lists its patch types instead; over 3 MiB is
  413 `Request entity too large: limit is 3145728`;
- a body that does not parse answers as the decoder does: `the object provided is
  unrecognized (must be of type ConfigMap): couldn't get version/kind; json parse
  error: invalid character 'x' looking for beginning of value (<first 30 bytes>)`, with
  Go's scanner messages (gowire.py) and `error converting YAML to JSON: yaml: line 3:
  ...` for YAML; patch documents keep each patch type's own wording;
- `Accept`: JSON, YAML (`application/yaml` answers YAML, keys sorted as
  `sigs.k8s.io/yaml` writes them), `*/*`; q-values order the choices;
- option checks: `fieldManager` (128 bytes, printable), `dryRun`, `fieldValidation`
  as 422 `CreateOptions.meta.k8s.io "" is invalid: ...` (UpdateOptions, PatchOptions);
  `resourceVersionMatch` and `sendInitialEvents` as `ValidateListOptions` has them.

Simplified: protobuf responses are not produced, so an `Accept` that names only
protobuf (or `text/html`) is 406 `only the following media types are accepted:
application/json, application/yaml`, naming what this server writes (upstream would
answer protobuf); a watch always streams JSON; PyYAML's error texts are mapped onto
go-yaml's for the common mistakes, others keep PyYAML's words.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import yaml

from kubecourse.embedded import gowire, status

Obj = dict[str, Any]

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
BODY_TYPES = (JSON, YAML, PROTOBUF)
CUSTOM_BODY_TYPES = (JSON, YAML)
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH)
CUSTOM_PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, APPLY_PATCH)
MAX_BODY_BYTES = 3 * 1024 * 1024
FIELD_MANAGER_MAX = 128
OUTPUT_TYPES = (JSON, YAML)
_FIND_KIND = (
    'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; '
    'Kind string "json:\\"kind,omitempty\\"" }'
)


def media_type(header: str | None) -> str:
    """`mime.ParseMediaType`'s type: lower case, parameters dropped."""
    return (header or "").split(";")[0].strip().lower()


def unsupported_media_type(accepted: tuple[str, ...]) -> status.StatusError:
    listed = ", ".join(accepted)
    message = f"the body of the request was in an unknown format - accepted media types include: {listed}"
    return status.StatusError(415, "UnsupportedMediaType", message)


def too_large() -> status.StatusError:
    message = f"Request entity too large: limit is {MAX_BODY_BYTES}"
    return status.StatusError(413, "RequestEntityTooLarge", message)


def not_acceptable() -> status.StatusError:
    message = f"only the following media types are accepted: {', '.join(OUTPUT_TYPES)}"
    return status.StatusError(406, "NotAcceptable", message)


# ---------------------------------------------------------------- Accept


def _accept_entries(header: str) -> list[tuple[str, float]]:
    entries = []
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if pieces[0]:
            entries.append((pieces[0].lower(), quality))
    return sorted(entries, key=lambda entry: -entry[1])


def negotiate_output(header: str | None) -> str:
    """The media type to answer in (`application/json` or `application/yaml`)."""
    if not header or not header.strip():
        return JSON
    for media, quality in _accept_entries(header):
        if quality <= 0:
            continue
        if media in (JSON, YAML):
            return media
        if media in ("*/*", "application/*"):
            return JSON
    raise not_acceptable()


def to_yaml(body: bytes) -> bytes:
    """A JSON answer as `sigs.k8s.io/yaml.JSONToYAML` writes it."""
    return yaml.safe_dump(
        json.loads(body), default_flow_style=False, sort_keys=True, allow_unicode=True
    ).encode()


# ---------------------------------------------------------------- bodies


class _Loader(yaml.SafeLoader):
    """YAML as go-yaml reads it into JSON: timestamps stay strings."""


_Loader.yaml_implicit_resolvers = {
    key: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag != "tag:yaml.org,2002:timestamp"
    ]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}

_YAML_PROBLEMS = {
    "mapping values are not allowed here": "mapping values are not allowed in this context",
    "could not find expected ':'": "could not find expected ':'",
    "found unexpected end of stream": "found unexpected end of stream",
}


def _yaml_message(err: yaml.YAMLError) -> str:
    problem = str(getattr(err, "problem", "") or err)
    mark = getattr(err, "problem_mark", None)
    if "cannot start any token" in problem:
        text = "found character that cannot start any token"
    elif problem.startswith("expected <block end>") or problem.startswith(
        "expected <block"
    ):
        text = "did not find expected key"
    else:
        text = _YAML_PROBLEMS.get(problem, problem)
    line = f"line {mark.line + 1}: " if mark is not None else ""
    return f"error converting YAML to JSON: yaml: {line}{text}"


# Go decodes 10000 levels of nesting; Python's recursion (here and in every later
# step: validation, patches, apply) stops near 1000, so a body may nest this deep.
DECODE_MAX_DEPTH = 400


class _TooDeep(yaml.YAMLError):
    """A document nested deeper than the server follows (go-yaml stops at 10000)."""

    problem = "exceeded max depth of 10000"
    problem_mark = None


def load_yaml(raw: bytes) -> Any:
    """The first YAML document; yaml.YAMLError for what does not parse."""
    if gowire.exceeds_depth(raw, DECODE_MAX_DEPTH):  # flow-style brackets
        raise _TooDeep()
    documents = yaml.load_all(raw, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    try:
        return next(iter(documents), None)
    except RecursionError:
        raise _TooDeep() from None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_json(raw: bytes) -> Any:
    """JSON as Go reads it: NaN and Infinity are syntax errors; a text nested too deep
    is the scanner's `exceeded max depth`."""
    too_deep = gowire.exceeds_depth(raw, DECODE_MAX_DEPTH)
    if too_deep:
        raise ValueError(too_deep)
    try:
        return json.loads(raw, parse_constant=_no_constants)
    except RecursionError:
        raise ValueError(gowire.nesting_error(raw)) from None


def summarize(raw: bytes, limit: int = 30) -> str:
    """`summarizeData`: the body's start, as text for an object, else in hex."""
    if not raw:
        return "<empty>"
    head = raw[:limit]
    more = " ..." if len(raw) > limit else ""
    if raw[:1] == b"{":
        return head.decode("utf-8", "replace") + more
    return head.hex() + more


def unrecognized(kind: str, message: str, raw: bytes) -> status.StatusError:
    return status.bad_request(
        f"the object provided is unrecognized (must be of type {kind}): {message} ({summarize(raw)})"
    )


def _interpret(document: Any) -> str | None:
    """`SimpleMetaFactory.Interpret`: apiVersion and kind must be strings in an object."""
    if document is None:
        return None
    if not isinstance(document, dict):
        word = "array" if isinstance(document, list) else _json_word(document)
        return f"couldn't get version/kind; json parse error: json: cannot unmarshal {word} into Go value of type {_FIND_KIND}"
    for name in ("apiVersion", "kind"):
        value = document.get(name)
        if value is not None and not isinstance(value, str):
            return (
                "couldn't get version/kind; json parse error: json: cannot unmarshal "
                f"{_json_word(value)} into Go struct field .{name} of type string"
            )
    return None


def _json_word(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def decode_object(raw: bytes, ctype: str, kind: str) -> Obj:
    """A create or update body of `kind` (JSON or YAML), refused as upstream refuses it."""
    try:
        document = load_yaml(raw) if ctype == YAML else load_json(raw)
    except yaml.YAMLError as err:
        raise unrecognized(kind, _yaml_message(err), raw) from err
    except ValueError as err:
        message = gowire.json_syntax_error(raw) or str(err)
        raise unrecognized(
            kind, f"couldn't get version/kind; json parse error: {message}", raw
        ) from err
    problem = _interpret(document)
    if problem is not None:
        raise unrecognized(kind, problem, raw)
    return document if isinstance(document, dict) else {}


def decode_patch(raw: bytes, patch_type: str) -> Any:
    """A patch document, refused in each patch type's own words (400)."""
    if patch_type == "apply":
        return _decode_apply(raw)
    try:
        document = load_json(raw)
    except ValueError as err:
        message = gowire.json_syntax_error(raw) or str(err)
        if patch_type == "merge":
            raise status.bad_request("Invalid JSON Patch") from err
        raise status.bad_request(message) from err
    if patch_type == "json" and not isinstance(document, list):
        word = _json_word(document)
        raise status.bad_request(
            f"json: cannot unmarshal {word} into Go value of type jsonpatch.Patch"
        )
    if patch_type == "strategic" and not isinstance(document, dict):
        word = _json_word(document)
        raise status.bad_request(
            f"json: cannot unmarshal {word} into Go value of type map[string]interface {{}}"
        )
    return document


def _decode_apply(raw: bytes) -> Any:
    try:
        document = load_yaml(raw)
    except yaml.YAMLError as err:
        raise status.bad_request(f"error decoding YAML: {_yaml_message(err)}") from err
    if document is not None and not isinstance(document, dict):
        word = _json_word(document)
        raise status.bad_request(
            "error decoding YAML: error unmarshaling JSON: while decoding JSON: json: "
            f"cannot unmarshal {word} into Go value of type map[string]interface {{}}"
        )
    return document or {}


# ---------------------------------------------------------------- options


def options_invalid(kind: str, causes: list[dict[str, str]]) -> status.StatusError:
    """`errors.NewInvalid(schema.GroupKind{Group: "meta.k8s.io", Kind: kind}, "", errs)`."""
    parts = [f"{c['field']}: {c['message']}" for c in causes]
    summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details = {"group": "meta.k8s.io", "kind": kind, "causes": causes}
    return status.StatusError(
        422, "Invalid", f'{kind}.meta.k8s.io "" is invalid: {summary}', details
    )


def _printable(ch: str) -> bool:
    return ch == " " or unicodedata.category(ch)[0] in "LMNPS"


def field_manager_causes(manager: str) -> list[dict[str, str]]:
    """`ValidateFieldManager`."""
    causes = []
    if len(manager.encode()) > FIELD_MANAGER_MAX:
        detail = f"Too long: may not be more than {FIELD_MANAGER_MAX} bytes"
        causes.append(status.cause("fieldManager", detail, "FieldValueTooLong"))
    for position, ch in enumerate(manager):
        if not _printable(ch):
            shown = f"U+{ord(ch):04X}"
            detail = f"invalid character {shown} (at position {position})"
            causes.append(
                status.cause(
                    "fieldManager", f"Invalid value: {gowire.quote(manager)}: {detail}"
                )
            )
    return causes


def write_option_causes(
    field_manager: str, dry_run: list[str], field_validation: str
) -> list[dict[str, str]]:
    """`ValidateCreateOptions` / `ValidateUpdateOptions` / `ValidatePatchOptions`'s shared part."""
    causes = field_manager_causes(field_manager)
    if any(value != "All" for value in dry_run):
        shown = json.dumps(dry_run, separators=(",", ":"))
        message = f'Unsupported value: {shown}: supported values: "All"'
        causes.append(status.cause("dryRun", message, "FieldValueNotSupported"))
    if field_validation not in ("", "Ignore", "Strict", "Warn"):
        message = f'Unsupported value: {gowire.quote(field_validation)}: supported values: "", "Ignore", "Strict", "Warn"'
        causes.append(
            status.cause("fieldValidation", message, "FieldValueNotSupported")
        )
    return causes


def _forbidden(field: str, detail: str) -> dict[str, str]:
    return status.cause(field, f"Forbidden: {detail}", "FieldValueForbidden")


def list_option_causes(query: Any, watch: bool) -> list[dict[str, str]]:
    """`ValidateListOptions` (list) and `validateWatchOptions` (watch)."""
    match = query.get("resourceVersionMatch") or ""
    rv = query.get("resourceVersion") or ""
    cont = query.get("continue") or ""
    initial = "sendInitialEvents" in query
    if watch:
        return _watch_option_causes(match, cont, initial)
    causes = []
    if match:
        if not rv:
            causes.append(
                _forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                )
            )
        if cont:
            causes.append(
                _forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden when continue is provided",
                )
            )
        if match not in ("Exact", "NotOlderThan"):
            message = f'Unsupported value: {gowire.quote(match)}: supported values: "Exact", "NotOlderThan", ""'
            causes.append(
                status.cause("resourceVersionMatch", message, "FieldValueNotSupported")
            )
        if match == "Exact" and rv == "0":
            causes.append(
                _forbidden(
                    "resourceVersionMatch",
                    'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
                )
            )
    if initial:
        causes.append(
            _forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list")
        )
    return causes


def _watch_option_causes(match: str, cont: str, initial: bool) -> list[dict[str, str]]:
    causes = []
    if initial and match != "NotOlderThan":
        causes.append(
            _forbidden(
                "resourceVersionMatch",
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            )
        )
    if match:
        if not initial:
            causes.append(
                _forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                )
            )
        if match != "NotOlderThan":
            message = f'Unsupported value: {gowire.quote(match)}: supported values: "NotOlderThan"'
            causes.append(
                status.cause("resourceVersionMatch", message, "FieldValueNotSupported")
            )
        if cont:
            causes.append(
                _forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden when continue is provided",
                )
            )
    return causes
