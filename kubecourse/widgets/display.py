"""Small display helpers for notebooks."""

from __future__ import annotations

from typing import Any

from kubecourse.errors import ArgumentError


def mermaid(diagram: str) -> Any:
    """A Mermaid diagram as Markdown, which JupyterLab 4.1+ draws."""
    from IPython.display import Markdown

    if not isinstance(diagram, str) or not diagram.strip():
        raise ArgumentError(f"diagram must be Mermaid text like 'flowchart LR; a --> b', not {diagram!r}")
    return Markdown(f"```mermaid\n{diagram.strip()}\n```")
