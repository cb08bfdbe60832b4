"""Two safe tools for trying ``agentflan chat``: arithmetic (parsed with ``ast``, never ``eval``) and a clock."""

from __future__ import annotations

import ast
import datetime as _dt
import math
import operator
from collections.abc import Callable
from typing import Any

from agentflan.agent import Tool, tool

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "sqrt": math.sqrt, "log": math.log, "exp": math.exp, "sin": math.sin, "cos": math.cos, "tan": math.tan,
    "abs": abs, "round": round,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
MAX_EXPONENT = 10_000
MAX_LENGTH = 500


def evaluate(expression: str) -> float | int:
    """The value of an arithmetic expression: numbers, + - * / // % **, parentheses, a few math functions."""
    if len(expression) > MAX_LENGTH:
        raise ValueError(f"expression longer than {MAX_LENGTH} characters")
    try:
        return _eval(ast.parse(expression.strip(), mode="eval").body)
    except (SyntaxError, ZeroDivisionError, OverflowError, TypeError, RecursionError) as exc:
        raise ValueError(f"cannot evaluate {expression!r}: {type(exc).__name__}: {exc}") from None


def _eval(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ValueError(f"exponent {right} is too large")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _FUNCTIONS[node.func.id](*(_eval(a) for a in node.args))
    raise ValueError(f"unsupported expression element: {ast.dump(node)[:60]}")


@tool(name="calculator")
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression such as "(3 + 4) * 2 ** 3" or "sqrt(2) * pi"; returns the number."""
    return str(evaluate(expression))


@tool(name="clock")
def clock(timezone_offset_hours: float = 0.0) -> str:
    """The current date and time (ISO 8601) at a UTC offset in hours (0 = UTC)."""
    tz = _dt.timezone(_dt.timedelta(hours=timezone_offset_hours))
    return _dt.datetime.now(tz).isoformat(timespec="seconds")


DEMO_TOOLS: list[Tool] = [calculator, clock]
