"""Properties that must hold for any input, checked with generated examples."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from kubecourse.compose.interpolate import Interpolator
from kubecourse.compose.names import clean_name, derived_name, is_dns_label
from kubecourse.compose.podspec import k8s_literal
from kubecourse.compose.resources import memory_quantity
from kubecourse.compose.syntax import parse_size

NAMES = st.text(alphabet=st.characters(codec="ascii"), min_size=1, max_size=120)


def kubernetes_expand(text: str) -> str:
    """Kubernetes' own $(VAR) expansion with no variables defined: `$$` -> `$`."""
    return re.sub(r"\$\$", "$", text)


@given(NAMES)
def test_cleaned_names_are_empty_or_valid_dns_labels(name: str) -> None:
    cleaned = clean_name(name)
    assert cleaned == "" or is_dns_label(cleaned)


@given(
    NAMES.filter(lambda n: clean_name(n) != ""), st.sampled_from(["env", "data", "2"])
)
def test_derived_names_stay_valid_and_keep_their_suffix(name: str, suffix: str) -> None:
    derived = derived_name(clean_name(name), suffix)
    assert is_dns_label(derived) and derived.endswith(f"-{suffix}")


@given(st.text(alphabet="$(){}ab ", max_size=40))
def test_escaped_text_survives_kubernetes_expansion_unchanged(text: str) -> None:
    assert kubernetes_expand(k8s_literal(text)) == text


@given(st.text(alphabet=st.characters(blacklist_characters="$"), max_size=40))
def test_text_without_dollars_is_never_changed_by_interpolation(text: str) -> None:
    assert Interpolator({}).expand(text) == text


@given(st.integers(min_value=1, max_value=2**40))
def test_memory_quantities_keep_the_exact_byte_count(size: int) -> None:
    quantity = memory_quantity(size)
    factors = {"Gi": 1024**3, "Mi": 1024**2, "Ki": 1024}
    unit = quantity[-2:]
    number = int(quantity[:-2]) * factors[unit] if unit in factors else int(quantity)
    assert number == size == parse_size(size)
