"""Go library behaviours behind kube-apiserver's decoding messages (gowire.py)."""

from __future__ import annotations

import pytest

from kubecourse.embedded import gowire

QUANTITY_FORMAT = (
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            b'{"a":1,}',
            "invalid character '}' looking for beginning of object key string",
        ),
        (b'{"a" 1}', "invalid character '1' after object key"),
        (b'{"a":1 "b":2}', "invalid character '\"' after object key:value pair"),
        (b"[1 2]", "invalid character '2' after array element"),
        (b"apiVersion: v1", "invalid character 'a' looking for beginning of value"),
        (b"{}x", "invalid character 'x' after top-level value"),
        (b'{"a":tru}', "invalid character '}' in literal true (expecting 'e')"),
        (b'{"a":01}', "invalid character '1' after object key:value pair"),
        (b'{"a":1.}', "invalid character '}' after decimal point in numeric literal"),
        (b'{"a":"\\q"}', "invalid character 'q' in string escape code"),
        (b'{"a":"x\ny"}', "invalid character '\\n' in string literal"),
        (
            b"{'a': 1}",
            "invalid character '\\'' looking for beginning of object key string",
        ),
        (b'{"a":', "unexpected end of JSON input"),
        (b"", "unexpected end of JSON input"),
    ],
)
def test_json_syntax_errors_read_like_gos_scanner(text: bytes, message: str) -> None:
    assert gowire.json_syntax_error(text) == message


def test_valid_json_has_no_syntax_error() -> None:
    assert (
        gowire.json_syntax_error(b'{"a": [1, -2.5e3, true, null, "\\u00e9"]}') is None
    )


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("foo-bar", 3),
        ("abc", 0),
        ("hello", 4),
        ("my secret", 2),
        ("aGk=x", 4),
        ("aGk==", 4),
        ("aGVsbG8", 4),
    ],
)
def test_base64_errors_give_the_offset_gos_decoder_gives(
    text: str, offset: int
) -> None:
    assert gowire.base64_error(text) == f"illegal base64 data at input byte {offset}"


@pytest.mark.parametrize("text", ["", "aGVsbG8=", "aGk=", "aGVs\nbG8=", "cGFzcw=="])
def test_valid_base64_passes(text: str) -> None:
    assert gowire.base64_error(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lots", QUANTITY_FORMAT),
        ("1x", QUANTITY_FORMAT),
        ("100Mb", QUANTITY_FORMAT),
        ("", QUANTITY_FORMAT),
        ("1K", "unable to parse quantity's suffix"),
        ("1e", "unable to parse quantity's suffix"),
    ],
)
def test_bad_quantities_fail_as_parse_quantity_fails(text: str, message: str) -> None:
    assert gowire.quantity_error(text) == message


@pytest.mark.parametrize(
    "text", ["100m", "1.5Gi", "1e3", "-1", "0", " 2 ", "128974848", "1E"]
)
def test_good_quantities_parse(text: str) -> None:
    assert gowire.quantity_error(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "yesterday",
            'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"',
        ),
        (
            "2024-13-01T00:00:00Z",
            'parsing time "2024-13-01T00:00:00Z": month out of range',
        ),
        (
            "2023-02-29T00:00:00Z",
            'parsing time "2023-02-29T00:00:00Z": day out of range',
        ),
        (
            "2024-01-01T00:00:00",
            'parsing time "2024-01-01T00:00:00" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00"',
        ),
        (
            "2024-01-01 00:00:00Z",
            'parsing time "2024-01-01 00:00:00Z" as "2006-01-02T15:04:05Z07:00": cannot parse " 00:00:00Z" as "T"',
        ),
        (
            "2024-01-01T00:00:00Zjunk",
            'parsing time "2024-01-01T00:00:00Zjunk": extra text: "junk"',
        ),
    ],
)
def test_bad_times_fail_as_time_parse_rfc3339_fails(text: str, message: str) -> None:
    assert gowire.rfc3339_error(text) == message


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-01T00:00:00Z",
        "2024-02-29T23:59:59.123456+02:00",
        "2024-01-01T05:00:00-05:00",
    ],
)
def test_good_times_parse(text: str) -> None:
    assert gowire.rfc3339_error(text) is None


def test_go_formatting_of_decoded_json() -> None:
    patch = {
        "spec": {
            "containers": [{"name": "app", "env": [{"name": "PORT", "value": 8080}]}],
            "on": True,
        }
    }
    assert (
        gowire.sprint_v(patch)
        == "map[spec:map[containers:[map[env:[map[name:PORT value:8080]] name:app]] on:true]]"
    )
    assert (
        gowire.sharp_v(["a", {"k": 1}])
        == '[]interface {}{"a", map[string]interface {}{"k":1}}'
    )
    assert [gowire.format_float(v) for v in (1.5, 1e6, 100000.0, 1.25e-5, 2.0)] == [
        "1.5",
        "1e+06",
        "100000",
        "1.25e-05",
        "2",
    ]
    assert gowire.quote('say "hi"\n\x01é') == '"say \\"hi\\"\\n\\x01é"'


def test_a_text_nested_past_go_s_limit_exceeds_max_depth_at_that_bracket() -> None:
    deep = b'{"x":' + b"[" * 9999 + b"{}" + b"]" * 9999 + b"}"  # the { is level 10001

    assert gowire.nesting_error(deep) == "invalid character '{' exceeded max depth"
    assert gowire.json_syntax_error(deep) == "invalid character '{' exceeded max depth"


def test_brackets_inside_strings_do_not_count_towards_the_depth() -> None:
    text = b'["[[[[\\"[[", [[]]]'

    assert gowire.exceeds_depth(text, 3) is None
    assert gowire.exceeds_depth(text, 2) == "invalid character '[' exceeded max depth"
