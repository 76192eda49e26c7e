"""Tiny helpers for writing course notebooks from Python (used by tools/lessons/*.py).

A lesson source is a list of cells: `md("...")` and `code("...", tags=[...])`.  Writing
lessons this way keeps diffs reviewable; the .ipynb files are what learners open.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import nbformat


def md(text: str) -> Any:
    return nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip())


def code(text: str, tags: list[str] | None = None) -> Any:
    cell = nbformat.v4.new_code_cell(textwrap.dedent(text).strip())
    if tags:
        cell.metadata["tags"] = tags
    return cell


def write(path: Path, cells: list[Any]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{path.stem[:20]}-{i:02d}"
    nbformat.validate(nb)
    path.write_text(nbformat.writes(nb) + "\n")


BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"


def solution_cells(cells: list[Any]) -> list[Any]:
    """The solved notebook: solution markers removed, code kept."""
    out = []
    for cell in cells:
        cell = nbformat.from_dict(dict(cell))
        if cell.cell_type == "code" and BEGIN in cell.source:
            lines = [ln for ln in cell.source.splitlines() if ln.strip() not in (BEGIN, END)]
            cell.source = "\n".join(lines)
        out.append(cell)
    return out


def exercise_cells(cells: list[Any]) -> list[Any]:
    """The learner's notebook: each solution region becomes a stub; check cells may
    raise (they do until the task is done) so a run-all still reaches the end."""
    out = []
    for cell in cells:
        cell = nbformat.from_dict(dict(cell))
        if cell.cell_type == "code" and BEGIN in cell.source:
            cell.source = _stub(cell.source)
        if "check" in cell.metadata.get("tags", []):
            cell.metadata["tags"] = [*cell.metadata["tags"], "raises-exception"]
        out.append(cell)
    return out


def _stub(source: str) -> str:
    out: list[str] = []
    inside = False
    for line in source.splitlines():
        if line.strip() == BEGIN:
            inside, names = True, []
            continue
        if line.strip() == END:
            inside = False
            out += [f"{name} = ...  # your code here" for name in names] or ["# your code here"]
            continue
        if inside:
            head = line.split("=", 1)[0].strip()
            if "=" in line and head.isidentifier() and not line.startswith(" ") and head not in names:
                names.append(head)
        else:
            out.append(line)
    return "\n".join(out)
