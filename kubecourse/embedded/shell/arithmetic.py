"""Shell arithmetic, `$((...))`, as POSIX sh evaluates it.

Integers only: `+ - * / %` (division truncates toward zero, as C's), comparisons
(`< <= > >= == !=`, 1 or 0), `&&`, `||`, `!`, unary minus and parentheses; a variable
is read by its name or as `$NAME` (unset or empty is 0), `$?` is the last status.
Assignments inside the expression (`i += 1`, `i++`) are refused with a message, as is
anything that is not a number (`sh: arithmetic syntax error`).
"""

from __future__ import annotations

import ast
import re

from kubecourse.embedded.shell.syntax import ShellError

_NAME = re.compile(r"\$?\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
_LIMIT = 2**63  # sh's intmax_t: results wrap past it; we refuse them instead


def evaluate(expression: str, variables: dict[str, str], status: int = 0) -> int:
    """The value of `expression`, its variables read from `variables`."""
    compared = re.sub(r"[=!<>]=", "", expression)
    if "=" in compared or "++" in compared or "--" in compared:
        raise ShellError(f"arithmetic assignment is not simulated: $(({expression}))")
    text = expression.replace("$?", str(status))
    text = _NAME.sub(lambda m: _number(variables.get(m.group(1), ""), m.group(1)), text)
    text = text.replace("&&", " and ").replace("||", " or ")
    text = re.sub(r"!(?!=)", " not ", text)
    try:
        tree = ast.parse(text.strip() or "0", mode="eval")
        value = _value(tree.body)
    except (SyntaxError, ValueError, ZeroDivisionError) as err:
        raise ShellError(f"arithmetic syntax error: $(({expression}))") from err
    return value


def _number(text: str, name: str) -> str:
    text = text.strip()
    if not text:
        return "0"
    if re.fullmatch(r"-?[0-9]+", text):
        return f"({int(text)})"
    raise ShellError(f"arithmetic syntax error: {name}={text!r} is not a number")


def _value(node: ast.expr) -> int:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp):
        operand = _value(node.operand)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(node.op, ast.Not):
            return int(not operand)
    if isinstance(node, ast.BinOp):
        return _binary(node.op, _value(node.left), _value(node.right))
    if isinstance(node, ast.BoolOp):
        values = [_value(v) for v in node.values]
        both = all if isinstance(node.op, ast.And) else any
        return int(both(values))
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        return int(
            _compare(node.ops[0], _value(node.left), _value(node.comparators[0]))
        )
    raise ValueError("not shell arithmetic")


def _binary(op: ast.operator, left: int, right: int) -> int:
    if isinstance(op, ast.Add):
        result = left + right
    elif isinstance(op, ast.Sub):
        result = left - right
    elif isinstance(op, ast.Mult):
        result = left * right
    elif isinstance(op, (ast.Div, ast.FloorDiv, ast.Mod)):
        if right == 0:
            raise ZeroDivisionError
        quotient = abs(left) // abs(right) * (1 if (left < 0) == (right < 0) else -1)
        result = quotient if not isinstance(op, ast.Mod) else left - quotient * right
    else:
        raise ValueError("not shell arithmetic")
    if abs(result) >= _LIMIT:
        raise ValueError("out of range")
    return result


def _compare(op: ast.cmpop, left: int, right: int) -> bool:
    table = {
        ast.Lt: left < right,
        ast.LtE: left <= right,
        ast.Gt: left > right,
        ast.GtE: left >= right,
        ast.Eq: left == right,
        ast.NotEq: left != right,
    }
    for kind, result in table.items():
        if isinstance(op, kind):
            return result
    raise ValueError("not shell arithmetic")
