"""Tool-needing queries, tool-free questions and tools, read from any mix of inputs: what the
Agent-H and tool-need builders draw from, and the one :class:`ToolQuery` type (the recipe's
negatives use it too).

One reader takes any mix of inputs and sorts each record into a :class:`Corpus`:

- ToolBench query files (``G*_query.json``: ``query`` + ``api_list``) -> tool queries whose
  acceptable tools are the ``relevant APIs``, named as ToolBench names functions
  (``<api>_for_<tool>``, standardised);
- agentflan tool-query JSONL (``{"id", "query", "call": {"name", "arguments"}, "tools"?}``; the
  built-in set under ``data/eval/agent_h/`` is one; a row without ``tools`` calls one of the
  caller's ``catalogue``) -> tool queries with a reference call;
- T-Eval tool descriptions (``api_descrip.json``: ``tool_description`` + ``api_list``) -> tools
  for the pool only (``Tool.api`` names);
- text files (one question per line, ``#`` comments) and MMLU CSV files (``question, A, B, C,
  D, answer``, no header) -> tool-free questions;
- anything :func:`agentflan.sources.read` reads (ToolBench answer files, Glaive/sharegpt-tools,
  OpenAI messages...) -> a tool query when the first assistant turn calls an offered tool (the
  reference call), a tool-free question when the conversation offers no tools and calls none.
  Conversations that offer tools but answer without a call are ambiguous (small talk or a
  refusal) and are left out.

Every tool met goes into the pool that Agent-H draws unrelated tools from.

Which questions count as tool-free is the caller's choice. MMLU rows are (a self-contained
multiple-choice question, its options given); HotpotQA questions are multi-hop fact look-ups
for which a search tool is a fair call, so none of agentflan's defaults use them (a
``{"question"}`` file is still read as tool-free if you pass one).
"""

from __future__ import annotations

import csv
import keyword
import re
import string
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentflan.batch import Rejects
from agentflan.conversation import FINISH_TOOL, Conversation, Tool, ToolCall
from agentflan.errors import InputError, Location
from agentflan.io import DATA_SUFFIXES, expand_paths, iter_records

#: ToolBench's parameter types as JSON-schema types.
_TOOLBENCH_TYPES = {"STRING": "string", "NUMBER": "number", "BOOLEAN": "boolean", "ARRAY": "array", "OBJECT": "object"}
# ToolBench renames parameters that clash with Python keywords or builtins it uses (``id`` -> ``is_id``).
_TOOLBENCH_RENAMED = {"id", "from", "class", "return", "false", "true", "and", "type", "print", "range"}
_BEGIN = re.compile(r"\s*Begin!\s*$")


@dataclass(slots=True)
class ToolQuery:
    """A request that needs a tool: the tools its source offered, the ones that answer it
    (``acceptable``, in the order the source called them; empty when unknown) and, when known,
    the call the source made first. Agent-H and tool-need draw their items from these, and the
    recipe's negatives ask the request again with no tools offered."""

    id: str
    query: str
    tools: list[Tool]
    source: str
    acceptable: list[str] = field(default_factory=list)
    reference: ToolCall | None = None
    #: the input it came from, so a builder draws evenly from inputs of very different sizes
    group: str = ""
    #: a content key of its trajectory (:func:`agentflan.recipe.split.trajectory_key`), when one was taken
    key: str = ""
    #: the trajectory's first answer after a tool result, when the first request alone led to the call
    #: (the recipe's negatives answer a request a model can compute itself with it)
    answer: str = ""


@dataclass(slots=True)
class GeneralQuestion:
    id: str
    text: str
    source: str
    group: str = ""


@dataclass(slots=True)
class Corpus:
    tool_queries: list[ToolQuery] = field(default_factory=list)
    general: list[GeneralQuestion] = field(default_factory=list)
    pool: dict[str, Tool] = field(default_factory=dict)

    def add_tools(self, tools: Iterable[Tool]) -> None:
        for t in tools:
            if t.name != FINISH_TOOL:
                self.pool.setdefault(t.name, t)

    def dedupe(self) -> Corpus:
        """The same text twice (the steps of one trajectory, two Glaive rows) counts once; the first
        wins, with the acceptable tools of all of them when they offer the same tools."""
        seen: set[str] = set()
        kept: dict[str, ToolQuery] = {}
        for q in self.tool_queries:
            key = " ".join(q.query.lower().split())
            first = kept.get(key)
            if first is None:
                seen.add(key)
                kept[key] = q
            elif {t.name for t in first.tools} == {t.name for t in q.tools}:
                # the steps of one ToolBench trajectory: every tool any of them calls answers the query
                first.acceptable = sorted({*first.acceptable, *q.acceptable})
        queries = list(kept.values())
        general = []
        for g in self.general:
            key = " ".join(g.text.lower().split())
            if key not in seen:
                seen.add(key)
                general.append(g)
        return Corpus(queries, general, dict(self.pool))


@dataclass(frozen=True, slots=True)
class _Reading:
    rejects: Rejects
    #: tools a tool-query row may call without listing its own
    catalogue: Mapping[str, Tool]
    #: ``string.Template`` of an MMLU row as a question (``$subject``, ``$question``, ``$options``)
    mmlu_question: str


def read_corpus(
    specs: Sequence[str | Path],
    *,
    catalogue: Mapping[str, Tool],
    mmlu_question: str,
    rejects: Rejects | None = None,
) -> Corpus:
    """Every tool query, question and tool in ``specs`` (files, folders, globs), in input order.

    Each entry's ``group`` is the spec it came from, so a builder can draw evenly from
    inputs of very different sizes (a folder of 14,000 MMLU rows next to 160 chat questions)."""
    corpus = Corpus()
    reading = _Reading(rejects if rejects is not None else Rejects(None), catalogue, mmlu_question)
    for n, spec in enumerate(specs):
        start_q, start_g = len(corpus.tool_queries), len(corpus.general)
        for path in _expand(spec):
            _load_file(path, corpus, reading)
        group = f"{n:03d}:{spec}"
        for q in corpus.tool_queries[start_q:]:
            q.group = group
        for g in corpus.general[start_g:]:
            g.group = group
    return corpus


def _expand(spec: str | Path) -> list[Path]:
    path = Path(spec)
    if path.is_dir():  # folders may hold MMLU CSVs and question lists as well as JSON
        suffixes = (*DATA_SUFFIXES, ".csv", ".txt")
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in suffixes)
        if not found:
            raise InputError(str(spec), "folder holds no .json, .jsonl, .csv or .txt files")
        return found
    return expand_paths(spec)


def _load_file(path: Path, corpus: Corpus, reading: _Reading) -> None:
    rejects = reading.rejects
    if path.suffix == ".txt":
        for i, line in enumerate(text_lines(path)):
            corpus.general.append(GeneralQuestion(f"{path.stem}:{i}", line, str(path)))
        return
    if path.suffix == ".csv":
        corpus.general.extend(_mmlu_questions(path, rejects, reading.mmlu_question))
        return
    first = next(iter_records(path), None)
    if first is None:
        return
    value = first.value
    if isinstance(value, dict) and "api_list" in value and "query" in value:
        _load_records(path, corpus, rejects, _toolbench_query)
    elif isinstance(value, dict) and "api_list" in value and "tool_description" in value:
        _load_records(path, corpus, rejects, _teval_tools)
    elif isinstance(value, dict) and "query" in value and "call" in value:
        _load_records(path, corpus, rejects, lambda d, loc, c: _tool_query_row(d, loc, c, reading.catalogue))
    elif isinstance(value, dict) and "question" in value and not {"messages", "conversations", "conversation"} & set(value):
        _load_records(path, corpus, rejects, _question_row)
    else:
        _load_conversations(path, corpus, rejects)


def _load_records(path: Path, corpus: Corpus, rejects: Rejects, convert: Any) -> None:
    for rec in iter_records(path):
        if rec.error is not None:
            rejects.handle(rec.error)
            continue
        rejects.stats.read += 1
        try:
            convert(rec.value, rec.location, corpus)
        except InputError as exc:
            rejects.handle(exc, rec.value)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            rejects.handle(InputError(rec.location, f"unexpected record layout ({type(exc).__name__}: {exc})"), rec.value)


def _require(d: Any, key: str, location: Location, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(d, dict):
        raise InputError(location, f"expected a JSON object, got {type(d).__name__}")
    if key not in d:
        raise InputError(location, "missing", key)
    if not isinstance(d[key], kind):
        raise InputError(location, f"expected {getattr(kind, '__name__', kind)}, got {type(d[key]).__name__}", key)
    return d[key]


def _toolbench_query(d: Any, location: Location, corpus: Corpus) -> None:
    query = _require(d, "query", location, str)
    api_list = _require(d, "api_list", location, list)
    tools = [toolbench_api_tool(api, location) for api in api_list]
    relevant = d.get("relevant APIs") or []
    acceptable = [toolbench_function_name(api, tool) for tool, api in relevant if isinstance(tool, str)]
    corpus.add_tools(tools)
    qid = f"toolbench-query:{Path(location.path).stem}:{d.get('query_id', location.index)}"
    corpus.tool_queries.append(ToolQuery(qid, query.strip(), tools, location.path, acceptable))


def toolbench_api_tool(api: Any, location: Location) -> Tool:
    """A ToolBench ``api_list`` entry as the function ToolBench offers for it."""
    tool_name = _require(api, "tool_name", location, str)
    api_name = _require(api, "api_name", location, str)
    props: dict[str, Any] = {}
    required: list[str] = []
    optional: list[str] = []
    for group, names in (("required_parameters", required), ("optional_parameters", optional)):
        for p in api.get(group) or []:
            pname = _toolbench_param(str(p.get("name", "")))
            prop: dict[str, Any] = {
                "type": _TOOLBENCH_TYPES.get(str(p.get("type", "")).upper(), "string"),
                "description": str(p.get("description") or ""),
            }
            if p.get("default") not in (None, ""):
                prop["example_value"] = p["default"]
            props[pname] = prop
            names.append(pname)
    description = str(api.get("api_description") or "").strip()
    return Tool(
        name=toolbench_function_name(api_name, tool_name),
        description=f'Subfunction of the tool "{tool_name}": {description}'.rstrip(": "),
        parameters={"type": "object", "properties": props, "required": required, "optional": optional},
    )


def toolbench_function_name(api_name: str, tool_name: str) -> str:
    """ToolBench's function name for an API: ``<api>_for_<tool>``, standardised, at most 64 characters."""
    return f"{_toolbench_param(_standardize(api_name))}_for_{_standardize(tool_name)}"[-64:]


def _standardize(name: str) -> str:
    s = re.sub(r"[^\w]", "_", name)
    s = re.sub(r"_+", "_", s).lower().strip("_")
    return f"get_{s}" if s[:1].isdigit() else s


def _toolbench_param(name: str) -> str:
    s = _standardize(name)
    return f"is_{s}" if s in _TOOLBENCH_RENAMED or keyword.iskeyword(s) else s


def _teval_tools(d: Any, location: Location, corpus: Corpus) -> None:
    toolkit = _require(d, "name", location, str)
    for api in _require(d, "api_list", location, list):
        corpus.add_tools([teval_api_tool(toolkit, api, location)])


def teval_api_tool(toolkit: str, api: Any, location: Location) -> Tool:
    """A T-Eval API description as a tool named ``Toolkit.api`` (T-Eval's own naming)."""
    name = _require(api, "name", location, str)
    props: dict[str, Any] = {}
    required: list[str] = []
    for group in ("required_parameters", "optional_parameters"):
        for p in api.get(group) or []:
            props[str(p["name"])] = {
                "type": _TOOLBENCH_TYPES.get(str(p.get("type", "")).upper(), "string"),
                "description": str(p.get("description") or ""),
            }
            if group == "required_parameters":
                required.append(str(p["name"]))
    return Tool(
        name=f"{toolkit}.{name}",
        description=str(api.get("description") or ""),
        parameters={"type": "object", "properties": props, "required": required},
    )


def _tool_query_row(d: Any, location: Location, corpus: Corpus, catalogue: Mapping[str, Tool]) -> None:
    query = _require(d, "query", location, str)
    call = _require(d, "call", location, dict)
    name = _require(call, "name", location, str)
    arguments = call.get("arguments") or {}
    if not isinstance(arguments, dict):
        raise InputError(location, "expected an object", "call.arguments")
    if "tools" in d:
        tools = [Tool.from_dict(t) for t in _require(d, "tools", location, list)]
    else:
        if name not in catalogue:
            raise InputError(location, f"tool {name!r} is not in the built-in catalogue; give the row its own 'tools'", "call.name")
        tools = [catalogue[name]]
    if name not in {t.name for t in tools}:
        raise InputError(location, f"calls {name!r}, which its 'tools' do not offer", "call.name")
    corpus.add_tools(tools)
    qid = str(d.get("id") or f"{Path(location.path).stem}:{location.line or location.index}")
    reference = ToolCall(name=name, arguments=dict(arguments))
    corpus.tool_queries.append(ToolQuery(qid, query.strip(), tools, location.path, [name], reference))


def _question_row(d: Any, location: Location, corpus: Corpus) -> None:
    text = _require(d, "question", location, str).strip()
    if text:
        qid = str(d.get("id") or d.get("_id") or f"{Path(location.path).stem}:{location.line or location.index}")
        corpus.general.append(GeneralQuestion(qid, text, location.path))


def _mmlu_questions(path: Path, rejects: Rejects, mmlu_question: str) -> Iterator[GeneralQuestion]:
    """MMLU rows as plain multiple-choice questions a person might ask (no tool helps with these)."""
    template = string.Template(mmlu_question)
    subject = path.stem.removesuffix("_test").removesuffix("_dev").removesuffix("_val").replace("_", " ")
    with path.open(encoding="utf-8", newline="") as fh:
        for lineno, row in enumerate(csv.reader(fh), start=1):
            rejects.stats.read += 1
            if len(row) != 6:
                rejects.handle(InputError(Location(str(path), line=lineno), f"expected 6 columns (question, A, B, C, D, answer), got {len(row)}"), row)
                continue
            question, *choices, _answer = row
            options = "\n".join(f"{letter}. {c}" for letter, c in zip("ABCD", choices, strict=True))
            text = template.substitute(subject=subject, question=question.strip(), options=options)
            yield GeneralQuestion(f"mmlu:{path.stem}:{lineno}", text, str(path))


def _load_conversations(path: Path, corpus: Corpus, rejects: Rejects) -> None:
    from agentflan.sources import read

    for conv in read(str(path), on_error=rejects.on_error.value, rejects=rejects):
        add_conversation(conv, corpus, str(path))


def add_conversation(conv: Conversation, corpus: Corpus, source: str) -> None:
    """Sort one conversation: tool query, tool-free question, or neither (see the module docstring)."""
    corpus.add_tools(conv.tools)
    first_user = next((i for i, m in enumerate(conv.messages) if m.role == "user" and m.content.strip()), None)
    if first_user is None:
        return
    query = _BEGIN.sub("", conv.messages[first_user].content).strip()
    reply = next((m for m in conv.messages[first_user + 1 :] if m.role == "assistant"), None)
    calls = [c for m in conv.messages if m.role == "assistant" for c in m.tool_calls if c.name != FINISH_TOOL]
    if not conv.tools:
        if not calls and reply is not None:
            corpus.general.append(GeneralQuestion(conv.id, query, source))
        return
    if reply is None or not reply.tool_calls:
        return
    offered = {t.name for t in conv.tools}
    first = reply.tool_calls[0]
    if first.name == FINISH_TOOL or first.name not in offered:
        return
    acceptable = sorted({c.name for c in calls if c.name in offered})
    tools = [t for t in conv.tools if t.name != FINISH_TOOL]
    corpus.tool_queries.append(ToolQuery(conv.id, query, tools, source, acceptable, first))


def text_lines(path: Path) -> list[str]:
    """The lines of a one-entry-per-line file, ``#`` comments and blanks skipped."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]
