"""Query parameters and path names converted and checked as kube-apiserver does."""

from __future__ import annotations

import pytest

from kubecourse.embedded import queryparams, status


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", 'strconv.ParseInt: parsing "abc": invalid syntax'),
        ("", 'strconv.ParseInt: parsing "": invalid syntax'),
        ("1_000", 'strconv.ParseInt: parsing "1_000": invalid syntax'),
        (" 5", 'strconv.ParseInt: parsing " 5": invalid syntax'),
        (
            "9223372036854775808",
            'strconv.ParseInt: parsing "9223372036854775808": value out of range',
        ),
    ],
)
def test_an_integer_parameter_that_does_not_convert_is_a_bad_request_in_strconv_words(
    value: str, message: str
) -> None:
    with pytest.raises(status.StatusError) as err:
        queryparams.int_param(value)

    assert (err.value.code, err.value.reason, err.value.message) == (
        400,
        "BadRequest",
        message,
    )


def test_integer_parameters_take_a_sign_as_go_does() -> None:
    assert [queryparams.int_param(v) for v in ("+5", "-1", "0", None)] == [
        5,
        -1,
        0,
        None,
    ]


@pytest.mark.parametrize("value", ["abc", "-1", "+5", "1.5"])
def test_a_resource_version_that_is_not_a_number_is_the_versioners_500(
    value: str,
) -> None:
    with pytest.raises(status.StatusError) as err:
        queryparams.resource_version(value)

    assert (err.value.code, err.value.reason) == (500, "")
    assert err.value.message == (
        f'resourceVersion: Invalid value: "{value}": strconv.ParseUint: parsing "{value}": invalid syntax'
    )
    assert "reason" not in err.value.body()


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("..", "may not be '..'"),
        (".", "may not be '.'"),
        ("a%b", "may not contain '%'"),
        ("a/%", "may not contain '/';may not contain '%'"),
    ],
)
def test_a_name_that_is_not_a_path_segment_is_a_bad_request(
    name: str, problem: str
) -> None:
    with pytest.raises(status.StatusError) as err:
        queryparams.check_name(name)

    assert err.value.code == 400
    assert err.value.message == f'Name parameter invalid: "{name}": {problem}'
