"""The chat templates' ``tool_list(tools)`` macro, generated from the one tool prompt.

A chat template that is given ``tools=`` lists them itself. Ours list them with exactly the text
of :func:`agentflan.protocols.tool_prompt` (``data/protocols/<prompt>.txt`` around
``data/protocols/tool_entry.txt`` per tool), written as Jinja so that the exported tokenizer's
``chat_template`` (``apply_chat_template``, vLLM) renders the same bytes without agentflan: a
model is trained, evaluated and served on one tool listing.
"""

from __future__ import annotations

import json
import string

from agentflan.protocols import load_template, tool_entry

#: One tool of ``tools`` (OpenAI ``{"type": "function", "function": {...}}`` or the bare function), as
#: :meth:`agentflan.conversation.Tool.from_dict` reads it: no description is "", no parameters {}.
_EACH_TOOL = "{%- for tool in tools -%}{%- set fn = tool.function if tool.function is defined else tool -%}"
_ENTRY_FIELDS = {
    "name": "{{- fn.name -}}",
    "description": "{{- fn.description or '' -}}",
    "parameters": "{{- (fn.parameters or {}) | tojson -}}",
}


def tool_list_macro(prompt: str) -> str:
    """Jinja defining ``tool_list(tools)``, which writes ``tool_prompt(prompt, tools)`` byte for byte."""
    entry = _jinja(tool_entry(), _ENTRY_FIELDS)
    listing = _EACH_TOOL + "{{- '\\n\\n' if not loop.first else '' -}}" + entry + "{%- endfor -%}"
    names = _EACH_TOOL + "{{- ', ' if not loop.first else '' -}}{{- fn.name -}}{%- endfor -%}"
    body = _jinja(load_template(prompt), {"tools": listing, "tool_names": names})
    return "{%- macro tool_list(tools) -%}" + body + "{%- endmacro -%}\n"


def _jinja(template: string.Template, fields: dict[str, str]) -> str:
    """``template`` as Jinja: its text as string literals, each ``$field`` as ``fields[field]``."""
    out: list[str] = []
    pos = 0
    for m in template.pattern.finditer(template.template):
        out.append(_literal(template.template[pos : m.start()]))
        if m.group("escaped") is not None:
            out.append(_literal(m.group("escaped")))
        else:
            key = m.group("named") or m.group("braced")
            if key not in fields:
                raise ValueError(f"tool prompt placeholder ${key} has no Jinja equivalent (known: {', '.join(fields)})")
            out.append(fields[key])
        pos = m.end()
    out.append(_literal(template.template[pos:]))
    return "".join(out)


def _literal(text: str) -> str:
    """Jinja that writes ``text`` (a JSON string literal: Jinja decodes the same escapes)."""
    return "{{- " + json.dumps(text, ensure_ascii=False) + " -}}" if text else ""
