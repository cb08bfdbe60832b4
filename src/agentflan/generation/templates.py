"""Chat templates: a conversation -> the exact text a model trains on, and which characters carry loss.

Every template is a Jinja chat template kept as a data file (``agentflan/data/templates``), with
``{% generation %}`` blocks around what the assistant writes. The same text is what the exported
tokenizer carries, so training, ``transformers`` and vLLM render a conversation byte for byte the
same. ``tokenizer`` uses the tokenizer's own ``chat_template`` (with tools): when that template has
generation markers they decide what is trained; otherwise each assistant turn is found as the text
that follows the rendered prompt of the turns before it, up to and including the next EOS token.

Rendering returns character ranges, not tokens: :mod:`agentflan.train.tokenize` maps them onto
tokens through the tokenizer's offset mapping, so capability spans land on exactly their tokens.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from agentflan.conversation import CAPABILITIES, Conversation, Message, Tool
from agentflan.errors import ConfigError, InputError
from agentflan.formats.openai import openai_messages, openai_tools
from agentflan.generation.tool_list import tool_list_macro

CAPABILITY_NAMES: tuple[str, ...] = (*CAPABILITIES, "untagged")
"""Capability ids used on tokens: the index in this tuple. Supervised tokens outside every span are untagged."""
UNTAGGED = len(CAPABILITIES)
CAPABILITY_IDS: dict[str, int] = {name: i for i, name in enumerate(CAPABILITY_NAMES)}

TOKENIZER_TEMPLATE = "tokenizer"
#: Written beside a trained model: the template name and the stop strings/ids that end a turn.
TEMPLATE_FILE = "agentflan_template.json"
log = logging.getLogger(__name__)
_GENERATION_RE = re.compile(r"\{%-?\s*generation\s*-?%\}")

Range = tuple[int, int]


@dataclass(frozen=True, slots=True)
class RenderedConversation:
    """The training text of one conversation. ``supervised``: sorted, disjoint character ranges that
    carry loss. ``capabilities``: sorted, disjoint ``(start, end, capability id)`` ranges from the
    messages' spans; supervised characters outside them are untagged."""

    text: str
    supervised: list[Range] = field(default_factory=list)
    capabilities: list[tuple[int, int, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Template:
    """A named chat template bound to special-token values (``bos_token``, ``eos_token``...)."""

    name: str
    chat_template: str
    stop: tuple[str, ...]
    description: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    #: The BOS text to put in front of every rendering: set when the tokenizer expects a BOS and the
    #: template does not write one (ChatML on Gemma: without it perplexity is ~100x worse).
    bos_prefix: str = ""
    #: The tokenizer's special tokens; one that closes an assistant turn is trained with it.
    specials: tuple[str, ...] = ()

    @property
    def has_generation_markers(self) -> bool:
        return bool(_GENERATION_RE.search(self.chat_template))

    def turn_end(self) -> str | None:
        """The special token the template writes right after an assistant reply, if any."""
        probe = "\x00reply\x00"
        text, _ = self._render([{"role": "user", "content": "hi"}, {"role": "assistant", "content": probe}], None)
        at = text.find(probe)
        if at < 0:
            return None
        after = text[at + len(probe) :]
        return next((s for s in self.specials if s and after.startswith(s)), None)

    # ------------------------------------------------------------------ generation

    def render_prompt(self, messages: Sequence[Message], tools: Sequence[Tool] | None = None) -> str:
        """The prompt for the next assistant turn (generation header included). It holds the BOS text
        itself: tokenise it with ``add_special_tokens=False``."""
        text, _ = self._render(openai_messages(messages), tools, add_generation_prompt=True)
        return text

    # ------------------------------------------------------------------ training

    def render(self, conversation: Conversation) -> RenderedConversation:
        """The training text of a conversation and the character ranges that carry loss."""
        messages = conversation.messages
        dicts = openai_messages(messages)
        assistant = [i for i, m in enumerate(messages) if m.role == "assistant"]
        if self.has_generation_markers:
            text, blocks = self._render(dicts, conversation.tools, want_blocks=True)
            if len(blocks) != len(assistant):
                raise ConfigError(
                    f"template {self.name!r} marks {len(blocks)} generation blocks for {len(assistant)} assistant "
                    f"turns in conversation {conversation.id!r}; each assistant turn needs exactly one"
                )
        else:
            text, blocks = self._blocks_without_markers(conversation, dicts, assistant)
        supervised: list[Range] = []
        capabilities: list[tuple[int, int, int]] = []
        for i, (start, end) in zip(assistant, blocks, strict=True):
            m = messages[i]
            ranges: list[Range] = [(start, end)] if m.trains else []
            if m.spans:
                base = _content_start(text, m.content, start, end)
                for s_i, span in enumerate(m.spans):
                    if not 0 <= span.start <= span.end <= len(m.content):
                        raise InputError(
                            f"conversation {conversation.id}",
                            f"span [{span.start}, {span.end}) lies outside the content ({len(m.content)} chars)",
                            field=f"messages[{i}].spans[{s_i}]",
                        )
                    if base is None:
                        continue
                    a, b = base + span.start, base + span.end
                    if span.loss is False:
                        ranges = _subtract(ranges, a, b)
                    elif span.loss is True and not m.trains:
                        ranges = _union(ranges, a, b)
                    capabilities.append((a, b, CAPABILITIES.index(span.capability.value)))
            supervised.extend(ranges)
        return RenderedConversation(text, sorted(supervised), _disjoint(capabilities))

    # ------------------------------------------------------------------ internals

    def _render(
        self,
        messages: list[dict[str, Any]],
        tools: Sequence[Tool] | None,
        *,
        add_generation_prompt: bool = False,
        want_blocks: bool = False,
    ) -> tuple[str, list[Range]]:
        from transformers.utils.chat_template_utils import render_jinja_template

        options: dict[str, Any] = {
            "tools": openai_tools(tools or ()) or None,  # templates test ``if tools``
            "chat_template": self.chat_template,
            "return_assistant_tokens_mask": want_blocks,
            "add_generation_prompt": add_generation_prompt,
            **self.tokens,
        }
        result: Any = render_jinja_template(conversations=[messages], **options)
        rendered, indices = result
        text, shift = rendered[0], 0
        if self.bos_prefix and not text.startswith(self.bos_prefix):
            text, shift = self.bos_prefix + text, len(self.bos_prefix)
        return text, [(int(a) + shift, int(b) + shift) for a, b in indices[0]] if want_blocks else []

    def _blocks_without_markers(
        self, conversation: Conversation, dicts: list[dict[str, Any]], assistant: list[int]
    ) -> tuple[str, list[Range]]:
        """Assistant blocks of a template without generation markers: each starts where the prompt of
        the turns before it ends and runs through the next EOS token (or the end of its content)."""
        text, _ = self._render(dicts, conversation.tools)
        eos = self.tokens.get("eos_token") or ""
        blocks: list[Range] = []
        cursor = 0
        for i in assistant:
            content = conversation.messages[i].content
            prompt, _ = self._render(dicts[:i], conversation.tools, add_generation_prompt=True)
            if text.startswith(prompt) and len(prompt) >= cursor:
                start = len(prompt)
            else:
                found = text.find(content, cursor) if content else -1
                if found < 0:
                    raise InputError(
                        f"conversation {conversation.id}",
                        f"template {self.name!r} does not render this assistant turn's content verbatim, so its "
                        "trained characters cannot be located; use a template with {% generation %} markers",
                        field=f"messages[{i}].content",
                    )
                start = found
            content_at = text.find(content, start) if content else start
            end = content_at + len(content) if content_at >= 0 else start
            closer = next((s for s in self.specials if s and text.startswith(s, end)), None)
            if closer is not None:  # a turn-end token right after the reply (Gemma's <end_of_turn>)
                end += len(closer)
            elif eos:
                at = text.find(eos, end)
                nxt = self._next_turn_start(text, dicts, i, end)
                if at >= 0 and (nxt is None or at < nxt):
                    end = at + len(eos)
            blocks.append((start, end))
            cursor = end
        return text, blocks

    @staticmethod
    def _next_turn_start(text: str, dicts: list[dict[str, Any]], i: int, after: int) -> int | None:
        if i + 1 >= len(dicts) or not dicts[i + 1]["content"]:
            return None
        at = text.find(dicts[i + 1]["content"], after)
        return at if at >= 0 else None


def _content_start(text: str, content: str, start: int, end: int) -> int | None:
    """Where a message's content begins inside its generation block (None when not verbatim)."""
    if not content:
        return start
    at = text.find(content, start, end)
    return at if at >= 0 else None


def _subtract(ranges: list[Range], a: int, b: int) -> list[Range]:
    out: list[Range] = []
    for s, e in ranges:
        if e <= a or s >= b:
            out.append((s, e))
            continue
        if s < a:
            out.append((s, a))
        if e > b:
            out.append((b, e))
    return out


def _union(ranges: list[Range], a: int, b: int) -> list[Range]:
    if a >= b:
        return ranges
    merged: list[Range] = []
    for s, e in sorted([*ranges, (a, b)]):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _disjoint(ranges: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Sort capability ranges; where two overlap, the earlier-starting one gives way at the overlap."""
    out: list[tuple[int, int, int]] = []
    for s, e, c in sorted(ranges):
        if out and s < out[-1][1]:
            ps, _, pc = out[-1]
            out[-1] = (ps, s, pc)
            if ps >= s:
                out.pop()
        if s < e:
            out.append((s, e, c))
    return out


# ---------------------------------------------------------------------- registry


def _data_dir() -> Any:
    return resources.files("agentflan").joinpath("data").joinpath("templates")


@functools.cache
def _catalogue() -> dict[str, dict[str, Any]]:
    text = _data_dir().joinpath("templates.yaml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(text))


def _chat_template(entry: dict[str, Any]) -> str:
    """A catalogue template's Jinja: its file, after the ``tool_list`` macro of its ``tool_prompt``."""
    return tool_list_macro(str(entry["tool_prompt"])) + _jinja(entry["file"])


@functools.cache
def _jinja(file: str) -> str:
    return _data_dir().joinpath(file).read_text(encoding="utf-8")


def template_names() -> list[str]:
    return [*_catalogue(), TOKENIZER_TEMPLATE]


def get_template(name: str, tokenizer: Any = None) -> Template:
    """A template by name: ``agentflan``, ``llama2``, ``llama3``, ``chatml`` or ``tokenizer`` (the
    tokenizer's own ``chat_template``). Special-token values come from ``tokenizer`` when given."""
    tokens: dict[str, str] = {}
    specials: tuple[str, ...] = ()
    if tokenizer is not None:
        tokens = {k: str(v) for k, v in tokenizer.special_tokens_map.items() if isinstance(v, str)}
        specials = _special_tokens(tokenizer)
    if name == TOKENIZER_TEMPLATE:
        chat_template = getattr(tokenizer, "chat_template", None) if tokenizer is not None else None
        if not isinstance(chat_template, str) or not chat_template:
            raise ConfigError("template 'tokenizer' needs a tokenizer that has a chat_template (a single Jinja string)")
        template = Template(TOKENIZER_TEMPLATE, chat_template, (), "the tokenizer's own chat_template", tokens, specials=specials)
        stops = (tokens.get("eos_token"), template.turn_end())
        template = dataclasses.replace(template, stop=tuple(dict.fromkeys(s for s in stops if s)))
    else:
        entry = _catalogue().get(name)
        if entry is None:
            raise ConfigError(f"unknown template {name!r}; known: {', '.join(template_names())}")
        merged = {**{k: str(v) for k, v in (entry.get("defaults") or {}).items()}, **tokens}
        template = Template(
            name=name,
            chat_template=_chat_template(entry),
            stop=tuple(entry.get("stop") or ()),
            description=str(entry.get("description") or ""),
            tokens=merged,
            specials=specials,
        )
    bos = _expected_bos(tokenizer)
    if bos and not template.render_prompt([Message("user", "x")]).startswith(bos):
        log.info("template %r writes no %s but the tokenizer expects one: it is added in front", name, bos)
        template = dataclasses.replace(template, bos_prefix=bos)
    return template


def recorded_template(model: str | os.PathLike[str]) -> str | None:
    """The template name ``agentflan train`` recorded in a model or adapter folder, or None."""
    record = Path(model) / TEMPLATE_FILE
    if not record.is_file():
        return None
    try:
        name = json.loads(record.read_text(encoding="utf-8")).get("template")
    except (OSError, ValueError, AttributeError):
        raise ConfigError(f"{record}: not a template record (expected a JSON object with a 'template' name)") from None
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{record}: field 'template' must name a template")
    return name


def _special_tokens(tokenizer: Any) -> tuple[str, ...]:
    """Every special token of a tokenizer, longest first (so that a prefix never wins)."""
    found = {str(t) for t in getattr(tokenizer, "all_special_tokens", []) or []}
    for token in (getattr(tokenizer, "added_tokens_decoder", None) or {}).values():
        if getattr(token, "special", False):
            found.add(str(token.content))
    return tuple(sorted(found, key=lambda t: (-len(t), t)))


def _expected_bos(tokenizer: Any) -> str:
    """The BOS text when encoding with special tokens starts with it (the tokenizer expects it), else ''."""
    bos, bos_id = getattr(tokenizer, "bos_token", None), getattr(tokenizer, "bos_token_id", None)
    if tokenizer is None or not isinstance(bos, str) or not bos or bos_id is None:
        return ""
    try:
        ids = tokenizer("x")["input_ids"]
    except Exception:  # a tokenizer that cannot encode here cannot expect anything either
        return ""
    return bos if ids and ids[0] == bos_id else ""
