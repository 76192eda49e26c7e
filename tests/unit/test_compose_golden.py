"""Golden files: each folder under golden/ is one translator feature, end to end.

A folder holds `compose.yaml` (its first line says what it shows), optionally
`options.json` (keyword arguments for `translate`; `environ` defaults to `{}`), and the
expected `expected.yaml` (the manifests) and `expected.md` (the report). Regenerate
after an intended change with `KUBECOURSE_UPDATE_GOLDEN=1 pytest tests/unit/test_compose_golden.py`
and review the diff like code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from kubecourse.compose import TranslationResult, translate

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(
    path.name for path in GOLDEN.iterdir() if (path / "compose.yaml").is_file()
)
UPDATE = os.environ.get("KUBECOURSE_UPDATE_GOLDEN") == "1"
GATEWAY_KINDS = {"Gateway", "HTTPRoute"}


def translate_case(name: str) -> TranslationResult:
    folder = GOLDEN / name
    options: dict[str, Any] = {"environ": {}}
    if (folder / "options.json").is_file():
        options |= json.loads((folder / "options.json").read_text())
    return translate(folder / "compose.yaml", **options)


def check_golden(path: Path, text: str) -> None:
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"{path} is missing; run with KUBECOURSE_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", CASES)
def test_manifests_match_the_golden_file(name: str) -> None:
    check_golden(GOLDEN / name / "expected.yaml", translate_case(name).to_yaml())


@pytest.mark.parametrize("name", CASES)
def test_report_matches_the_golden_file(name: str) -> None:
    check_golden(GOLDEN / name / "expected.md", translate_case(name).report_markdown())


@pytest.mark.parametrize("name", CASES)
def test_golden_manifests_are_valid_kubernetes_objects(name: str) -> None:
    for manifest in translate_case(name).objects:
        if manifest["kind"] not in GATEWAY_KINDS:
            kubernetes_validate.validate(manifest, "1.37.0", strict=True)
        text = yaml.safe_dump(manifest)
        assert "/work/" not in text and str(GOLDEN) not in text
