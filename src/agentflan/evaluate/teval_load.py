"""How T-Eval's evaluators read a model's raw text, reproduced so that scores agree with theirs.

T-Eval never uses a strict JSON parser: it cuts the text to the span from the first opening
to the last closing bracket, then tries a Python literal, then JSON, then JSON with every
single quote turned double. That is why Python-literal plans and trailing commas (which
T-Eval's own prompt shows) count as well-formed there. :func:`lenient_load` does the same.
String-format answers are cut by a template whose literal parts are used as a regular
expression, unescaped (:func:`fill_template`). Both return ``None`` where T-Eval's reader
gives up, never raise on model output.
"""

from __future__ import annotations

import ast
import json
import re
from string import Formatter
from typing import Any

_FENCE = "```json"
# what ast.literal_eval and json.loads raise on text that is not a literal (or is too deep / too big)
_NOT_A_LITERAL = (ValueError, SyntaxError, TypeError, MemoryError, RecursionError)


def _literal(text: str) -> Any:
    return ast.literal_eval(text)  # literals only: never executes code


def _single_quoted_json(text: str) -> Any:
    return json.loads(text.replace("'", '"'))


def lenient_load(raw: Any, start: str = "", end: str = "") -> Any:
    """The value in ``raw`` as T-Eval reads it, or ``None`` when none of its three readers accepts it.

    A non-string is taken as already read. After a ```json fence the rest is kept (back-ticks
    stripped). With ``start``, the text is cut from its first ``start`` (or, when absent, to
    its last character, as T-Eval's slice does); with ``end``, up to its last ``end``.
    """
    if not isinstance(raw, str):
        return raw
    text = raw
    fence = text.find(_FENCE)
    if fence >= 0:
        text = text[fence + len(_FENCE) :].strip("`")
    if start:
        text = text[text.find(start) :]
    if end:
        text = text[: text.rfind(end) + len(end)]
    for reader in (_literal, json.loads, _single_quoted_json):
        try:
            return reader(text)
        except _NOT_A_LITERAL:
            continue
    return None


def fill_template(template: str, text: str) -> dict[str, str] | None:
    """The ``{field}`` parts of ``template`` found in ``text``, or ``None`` when it does not match.

    As T-Eval's ``parse_string``: every field becomes a greedy ``(.*)`` that also spans lines,
    the literal text between them is used as a regular expression as it stands, and the first
    match wins. A template that is not a valid pattern matches nothing.
    """
    try:
        fields = [name for _, name, _, _ in Formatter().parse(template) if name is not None]
    except ValueError:
        return None
    pattern = template
    for name in fields:
        pattern = pattern.replace("{" + name + "}", "(.*)")
    try:
        found = re.findall(pattern, text, re.S)
    except re.error:
        return None
    if not found:
        return None
    groups = found[0] if isinstance(found[0], tuple) else (found[0],)
    return dict(zip(fields, groups, strict=False))
