"""Small display helpers for notebooks."""

from __future__ import annotations

from typing import Any


def mermaid(diagram: str) -> Any:
    """A Mermaid diagram as Markdown, which JupyterLab 4.1+ draws."""
    from IPython.display import Markdown

    return Markdown(f"```mermaid\n{diagram.strip()}\n```")
