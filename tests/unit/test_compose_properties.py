"""Properties that must hold for any input, checked with generated examples."""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubecourse.compose import translate
from kubecourse.compose.interpolate import Interpolator
from kubecourse.compose.names import clean_name, derived_name, is_dns_label
from kubecourse.compose.podspec import k8s_literal
from kubecourse.compose.resources import memory_quantity
from kubecourse.compose.syntax import parse_size
from kubecourse.errors import ComposeError

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


# --- the loader on arbitrary input ----------------------------------------------------
#
# Whatever bytes a learner (or an attacker) hands the loader, only kubecourse's own
# errors may escape, and no input under 1 MB may take more than a second or 200 MB.
# Time is bounded by hypothesis' per-example deadline; memory by tracemalloc's peak.

MEMORY_LIMIT = 200 * 1024 * 1024
PEAK_SEEN = {"bytes": 0}

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.text(max_size=30),
    st.sampled_from(["80:80", "${X:-1}", "$$", "${Y:?no}", "db:/data", "no", "1m30s",
                     "CMD-SHELL", "service:web", "traefik.enable", "./x:/y:ro"]),
)  # fmt: skip
KEYS = st.sampled_from(
    ["services", "volumes", "networks", "secrets", "configs", "image", "ports",
     "environment", "extends", "profiles", "healthcheck", "deploy", "labels", "web",
     "db", "x-a", "<<", "build", "depends_on", "network_mode", "test", "target"]
)  # fmt: skip
TREES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(KEYS, children, max_size=5)
    ),
    max_leaves=40,
)
HOSTILE_TEXTS = [
    "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
              for p, c in zip("abcdefgh", "bcdefghi", strict=True))
    + "services: {web: {image: *i}}\n",
    "[" * 5000 + "]" * 5000,
    "services:\n" + "  " * 2000 + "x: 1\n",
    "- 1\n- 2\n",
    "just a string",
    "services: {web: {image: a, extends: web}}",
    "\x00\x01",
    "services: !!python/object:os.system {}",
    "key: [unclosed",
    "services: {web: {image: x}}\nservices: {}\n",
]  # fmt: skip
HOSTILE = st.sampled_from(HOSTILE_TEXTS)


def load_text(tmp: Path, text: str) -> None:
    path = tmp / "compose.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        translate(path, environ={"X": "1"})
    except ComposeError:
        pass  # ComposeValidationError is one; anything else fails the test


def peak_memory(tmp: Path, text: str) -> int:
    tracemalloc.start()
    try:
        load_text(tmp, text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    PEAK_SEEN["bytes"] = max(PEAK_SEEN["bytes"], peak)
    return peak


def megabyte_file(size: int) -> str:
    line = "  s{}: {{image: example/app:1, ports: ['80']}}\n"
    count = (size - 20) // len(line.format(10000))
    return "services:\n" + "".join(line.format(i) for i in range(count))


INPUTS = st.one_of(
    TREES.map(
        lambda tree: yaml.safe_dump(
            tree if isinstance(tree, dict) else {"services": {"web": tree}}
        )
    ),
    st.text(max_size=300),
    HOSTILE,
    st.integers(min_value=900_000, max_value=999_000).map(megabyte_file),
)
FIXTURE_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(deadline=1000, max_examples=300, suppress_health_check=FIXTURE_OK)
@given(text=INPUTS)
def test_any_input_fails_only_with_our_errors_within_a_second(
    tmp_path: Path, text: str
) -> None:
    load_text(tmp_path, text)


@settings(deadline=None, max_examples=60, suppress_health_check=FIXTURE_OK)
@given(text=INPUTS)
def test_any_input_under_a_megabyte_stays_under_200_mb(
    tmp_path: Path, text: str
) -> None:
    assert peak_memory(tmp_path, text) < MEMORY_LIMIT


def test_the_largest_inputs_measured_stay_far_below_the_memory_limit(
    tmp_path: Path,
) -> None:
    peaks = {name: peak_memory(tmp_path, text) for name, text in
             [("1 MB of services", megabyte_file(999_000)), ("alias bomb", HOSTILE_TEXTS[0])]}  # fmt: skip
    assert max(peaks.values()) < MEMORY_LIMIT // 4, peaks
