"""Object metadata and the shared value checks of apimachinery's `util/validation`.

Faithful to `k8s.io/apimachinery/pkg/util/validation` and `apis/meta/v1/validation`:
qualified names (label and annotation keys, with the DNS-subdomain prefix rules and
the 63-character name part), label values, the 256 KiB total annotation size,
config keys (ConfigMap and Secret data), port names (IANA_SVC_NAME), label selectors
(`invalid label selector`), each message with upstream's `RegexError` suffix
(`(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is ...)`).
Field errors render their values as kube-apiserver 1.34+ does: strings and numbers
plainly, anything else as JSON (`Invalid value: {"matchLabels":{"app":"x"}}`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from kubecourse.embedded import gowire
from kubecourse.embedded.status import cause

Causes = list[dict[str, str]]

_QUALIFIED_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QUALIFIED = re.compile(f"^{_QUALIFIED_FMT}$")
_LABEL_VALUE_FMT = f"({_QUALIFIED_FMT})?"
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL_FMT = _LABEL
DNS1123_SUBDOMAIN_FMT = rf"{_LABEL}(\.{_LABEL})*"
_DNS1123_SUBDOMAIN = re.compile(f"^{DNS1123_SUBDOMAIN_FMT}$")
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_CONFIG_KEY = re.compile(f"^{_CONFIG_KEY_FMT}$")
_PORT_NAME_CHARSET = re.compile("^[-a-z0-9]+$")
_ONE_LETTER = re.compile("[a-z]")
ANNOTATIONS_SIZE_LIMIT = 256 * 1024

QUALIFIED_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, "
    "'-', '_' or '.', and must start and end with an alphanumeric character"
)
SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)
CONFIG_KEY_MSG = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
)


def regex_error(message: str, fmt: str, *examples: str) -> str:
    """`validation.RegexError`."""
    if not examples:
        return f"{message} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def go_value(value: Any) -> str:
    """How a field error shows its bad value (`ErrorBody` in apimachinery 1.34+)."""
    if isinstance(value, str):
        return gowire.quote(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return gowire.format_float(value)
    if isinstance(value, int):
        return str(value)
    return _json(value)


def _json(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def selector_value(selector: Any) -> str:
    """A `*metav1.LabelSelector` as `json.Marshal` writes it (struct field order)."""
    if not isinstance(selector, dict):
        return go_value(selector)
    parts = []
    if selector.get("matchLabels"):
        parts.append('"matchLabels":' + _json(selector["matchLabels"]))
    if selector.get("matchExpressions"):
        parts.append(
            '"matchExpressions":['
            + ",".join(_requirement(r) for r in selector["matchExpressions"])
            + "]"
        )
    return "{" + ",".join(parts) + "}"


def _requirement(requirement: Any) -> str:
    if not isinstance(requirement, dict):
        return _json(requirement)
    parts = [
        f'"{name}":{_json(requirement[name])}'
        for name in ("key", "operator")
        if name in requirement
    ]
    if requirement.get("values"):
        parts.append('"values":' + _json(requirement["values"]))
    return "{" + ",".join(parts) + "}"


def invalid(
    field: str, value: Any, detail: str, shown: str | None = None
) -> dict[str, str]:
    return cause(
        field,
        f"Invalid value: {shown if shown is not None else go_value(value)}: {detail}",
    )


def required(field: str, detail: str = "") -> dict[str, str]:
    return cause(
        field,
        "Required value" + (f": {detail}" if detail else ""),
        "FieldValueRequired",
    )


def forbidden(field: str, detail: str) -> dict[str, str]:
    return cause(field, f"Forbidden: {detail}", "FieldValueForbidden")


def duplicate(field: str, value: Any) -> dict[str, str]:
    return cause(field, f"Duplicate value: {go_value(value)}", "FieldValueDuplicate")


def not_found(field: str, value: Any) -> dict[str, str]:
    return cause(field, f"Not found: {go_value(value)}", "FieldValueNotFound")


def not_supported(field: str, value: Any, supported: tuple[str, ...]) -> dict[str, str]:
    listed = ", ".join(gowire.quote(v) for v in supported)
    return cause(
        field,
        f"Unsupported value: {go_value(value)}: supported values: {listed}",
        "FieldValueNotSupported",
    )


def too_long(field: str, limit: int) -> dict[str, str]:
    unit = "byte" if limit == 1 else "bytes"
    return cause(
        field, f"Too long: may not be more than {limit} {unit}", "FieldValueTooLong"
    )


# ---------------------------------------------------------------- util/validation


def subdomain_errors(value: str) -> list[str]:
    """`IsDNS1123Subdomain`."""
    errors = []
    if len(value) > 253:
        errors.append(max_len_error(253))
    if not _DNS1123_SUBDOMAIN.match(value):
        errors.append(regex_error(SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errors


def qualified_name_errors(value: str) -> list[str]:
    """`IsQualifiedName`: `[prefix/]name`, the prefix a DNS subdomain."""
    examples = ("MyName", "my.name", "123-abc")
    parts = value.split("/")
    if len(parts) > 2:
        text = regex_error(QUALIFIED_MSG, _QUALIFIED_FMT, *examples)
        return [
            f"a qualified name {text} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    errors = []
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            errors += [f"prefix part {message}" for message in subdomain_errors(prefix)]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part " + max_len_error(63))
    if not _QUALIFIED.match(name):
        errors.append(
            "name part " + regex_error(QUALIFIED_MSG, _QUALIFIED_FMT, *examples)
        )
    return errors


def label_value_errors(value: str) -> list[str]:
    """`IsValidLabelValue`."""
    errors = []
    if len(value) > 63:
        errors.append(max_len_error(63))
    if value and not _QUALIFIED.match(value):
        errors.append(
            regex_error(
                LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"
            )
        )
    return errors


def config_key_errors(key: str) -> list[str]:
    """`IsConfigMapKey` (ConfigMap and Secret data keys)."""
    errors = []
    if len(key) > 253:
        errors.append(max_len_error(253))
    if not _CONFIG_KEY.match(key):
        errors.append(
            regex_error(
                CONFIG_KEY_MSG, _CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name"
            )
        )
    if key == ".":
        errors.append("must not be '.'")
    elif key == "..":
        errors.append("must not be '..'")
    elif key.startswith(".."):
        errors.append("must not start with '..'")
    return errors


def port_name_errors(name: str) -> list[str]:
    """`IsValidPortName` (an IANA_SVC_NAME)."""
    errors = []
    if len(name) > 15:
        errors.append(max_len_error(15))
    if not _PORT_NAME_CHARSET.match(name):
        errors.append(
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
        )
    if not _ONE_LETTER.search(name):
        errors.append("must contain at least one letter (a-z)")
    if "--" in name:
        errors.append("must not contain consecutive hyphens")
    if name and (name[0] == "-" or name[-1] == "-"):
        errors.append("must not begin or end with a hyphen")
    return errors


# ---------------------------------------------------------------- metadata


def validate_labels(labels: Any, field: str) -> Causes:
    """`ValidateLabels`: every key a qualified name, every value a label value."""
    if not isinstance(labels, dict):
        return []
    causes: Causes = []
    for key, value in labels.items():
        causes += [
            invalid(field, key, message) for message in qualified_name_errors(str(key))
        ]
        causes += [
            invalid(field, value, message) for message in label_value_errors(str(value))
        ]
    return causes


def validate_annotations(annotations: Any, field: str) -> Causes:
    """`ValidateAnnotations`: keys are qualified names in any case; 256 KiB in all."""
    if not isinstance(annotations, dict):
        return []
    causes: Causes = []
    for key in annotations:
        causes += [
            invalid(field, key, message)
            for message in qualified_name_errors(str(key).lower())
        ]
    size = sum(
        len(str(k).encode()) + len(str(v).encode()) for k, v in annotations.items()
    )
    if size > ANNOTATIONS_SIZE_LIMIT:
        causes.append(too_long(field, ANNOTATIONS_SIZE_LIMIT))
    return causes


def validate_label_selector(selector: Any, field: str) -> Causes:
    """`ValidateLabelSelector`: matchLabels as labels, each requirement's key and values."""
    if not isinstance(selector, dict):
        return []
    causes = validate_labels(selector.get("matchLabels"), f"{field}.matchLabels")
    for i, requirement in enumerate(selector.get("matchExpressions") or []):
        here = f"{field}.matchExpressions[{i}]"
        causes += _requirement_causes(requirement, here)
    return causes


def _requirement_causes(requirement: Any, here: str) -> Causes:
    if not isinstance(requirement, dict):
        return []
    operator = requirement.get("operator")
    values = requirement.get("values") or []
    causes: Causes = []
    if operator in ("In", "NotIn") and not values:
        causes.append(
            required(
                f"{here}.values", "must be specified when `operator` is 'In' or 'NotIn'"
            )
        )
    elif operator in ("Exists", "DoesNotExist") and values:
        causes.append(
            forbidden(
                f"{here}.values",
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )
        )
    elif operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
        causes.append(
            invalid(f"{here}.operator", operator, "not a valid selector operator")
        )
    key = str(requirement.get("key") or "")
    causes += [
        invalid(f"{here}.key", key, message) for message in qualified_name_errors(key)
    ]
    return causes


def selector_parse_error(selector: Any) -> bool:
    """Whether `metav1.LabelSelectorAsSelector` fails (bad keys, values or operators)."""
    if not isinstance(selector, dict):
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if qualified_name_errors(str(key)) or label_value_errors(str(value)):
            return True
    for requirement in selector.get("matchExpressions") or []:
        if _requirement_causes(requirement, ""):
            return True
        for value in (requirement or {}).get("values") or []:
            if label_value_errors(str(value)):
                return True
    return False
