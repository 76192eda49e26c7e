"""Compose files -> Kubernetes manifests, with every decision explained.

    from kubecourse.compose import translate
    result = translate("shop/compose.yaml")
    result                      # in a notebook: the explanation report
    result.objects              # manifests in apply order
    result.write("out/")        # one YAML file per compose service

Pure: this package never talks to a cluster.
"""

from __future__ import annotations

from kubecourse.compose.errors import ComposeValidationError, Problem
from kubecourse.compose.loader import load
from kubecourse.compose.model import ComposeProject, Decision
from kubecourse.compose.result import TranslationResult
from kubecourse.compose.translate import translate, translate_project

__all__ = [
    "ComposeProject",
    "ComposeValidationError",
    "Decision",
    "Problem",
    "TranslationResult",
    "load",
    "translate",
    "translate_project",
]
