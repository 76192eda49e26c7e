"""The few interpreter one-liners the simulated runtime answers: `python -c 'print(...)'`.

No Python process runs.  `python -c` (or `python3`, `pypy3`) whose code is only
`print(...)` calls, separated by `;` or new lines, of literals and arithmetic on them
(`print("hello", 1 + 2)`, `print(2 ** 10)`, `print('a' * 3)`) writes what Python would
print and exits 0; `sep` and `end` keywords of string literals are honoured.  Any other
code is not simulated: the container writes one line saying so on its log and exits 1,
rather than pretend it ran.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

NOT_SIMULATED = (
    "kubecourse: the embedded cluster runs no Python; python -c is simulated only "
    "for print() of literals and arithmetic"
)
PYTHONS = ("python", "python3", "pypy", "pypy3")
_LIMIT = 10_000  # no result may grow past this many characters or digits

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


class NotSimulated(Exception):
    """The code does something the simulation does not evaluate."""


def is_python(program: str) -> bool:
    name = program.rsplit("/", 1)[-1]
    return name in PYTHONS or (name.startswith("python3.") and name[8:].isdigit())


def python_output(code: str) -> tuple[list[str], int]:
    """(lines printed, exit code) of `python -c code`."""
    try:
        tree = ast.parse(code, mode="exec")
        text = "".join(_print(statement) for statement in tree.body)
    except (SyntaxError, NotSimulated, ValueError, TypeError, ArithmeticError):
        return [NOT_SIMULATED], 1
    lines = text.split("\n")
    return (lines[:-1] if text.endswith("\n") else lines), 0


def _print(statement: ast.stmt) -> str:
    if not (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and isinstance(statement.value.func, ast.Name)
        and statement.value.func.id == "print"
    ):
        raise NotSimulated
    call = statement.value
    values = [_value(arg) for arg in call.args]
    options = {kw.arg: _value(kw.value) for kw in call.keywords}
    sep, end = options.pop("sep", " "), options.pop("end", "\n")
    if options or not isinstance(sep, str) or not isinstance(end, str):
        raise NotSimulated
    return sep.join(_str(v) for v in values) + end


def _value(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant) and isinstance(
        node.value, (int, float, str, bool, type(None))
    ):
        return node.value
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_value(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left), _value(node.right)
        _check_size(node.op, left, right)
        return _BINARY[type(node.op)](left, right)
    raise NotSimulated


def _check_size(op: ast.operator, left: Any, right: Any) -> None:
    """Refuse results too large to print (`9 ** 9 ** 9`, `'a' * 10**9`)."""
    bits = 34_000  # about _LIMIT decimal digits
    if isinstance(op, ast.Pow) and isinstance(right, (int, float)):
        base = abs(left) if isinstance(left, (int, float)) else 0
        if abs(right) > 10_000 or (base > 1 and int(base).bit_length() * right > bits):
            raise NotSimulated
    if isinstance(op, ast.Mult) and isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > bits:
            raise NotSimulated
    if isinstance(op, ast.Mult):
        text, count = (left, right) if isinstance(left, str) else (right, left)
        if isinstance(text, str) and isinstance(count, int):
            if len(text) * max(count, 0) > _LIMIT:
                raise NotSimulated


def _str(value: Any) -> str:
    text = str(value)
    if len(text) > _LIMIT:
        raise NotSimulated
    return text
