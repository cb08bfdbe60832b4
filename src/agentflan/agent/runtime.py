"""A reusable ReAct-style agent: tools are Python callables with a JSON schema, the text
format is an agentflan protocol (``react``, ``fireact``, ``json``...), and every run leaves a
trajectory record.

Episodes advance in lockstep: each step sends one request per unfinished episode to the
backend in a single batch, so a GPU batch or a server's concurrency is used across
questions. Bad model output never crashes a run: the protocol's typed parse failure is
recorded and answered with a corrective observation, and so are unknown tools, invalid
arguments and exceptions raised by tools.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

from agentflan.agent.tools import Tool
from agentflan.conversation import Message, ToolCall
from agentflan.generation.base import Backend, GenerationRequest, Sampling
from agentflan.jsonutil import dumps
from agentflan.protocols import detect_calls, is_answer_action, is_null_action
from agentflan.protocols.base import AgentProtocol, AgentStep, FailureKind, ParseFailure, get_protocol

# --------------------------------------------------------------------------- episodes


@dataclass(slots=True)
class StepRecord:
    """One model turn of a trajectory and what the environment answered."""

    response: str
    thought: str | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)
    final_answer: str | None = None
    observation: str | None = None
    #: ``"<failure kind>: <message>"`` when the turn broke the protocol.
    format_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, [])}


Status = Literal["running", "finished", "gave_up", "max_steps"]


@dataclass(slots=True)
class Episode:
    """The state of one task: the conversation so far, its tools, and the trajectory."""

    messages: list[Message]
    tools: dict[str, Tool]
    steps: list[StepRecord] = field(default_factory=list)
    answer: str | None = None
    status: Status = "running"

    @property
    def done(self) -> bool:
        return self.status != "running"

    @property
    def format_errors(self) -> int:
        return sum(s.format_error is not None for s in self.steps)

    def trajectory(self) -> dict[str, Any]:
        """A JSON-ready record: status, answer and every step (the prompt is not repeated)."""
        return {
            "status": self.status,
            "answer": self.answer,
            "n_steps": len(self.steps),
            "format_errors": self.format_errors,
            "steps": [s.to_dict() for s in self.steps],
        }


@dataclass(slots=True)
class AgentConfig:
    protocol: str = "react"
    max_steps: int = 8
    max_new_tokens: int = 512
    #: Stop sequences; None: stop where the protocol's observation would begin (the model must not write it).
    stop: list[str] | None = None
    #: Who speaks the observations: ``user`` (Agent-FLAN treats tool returns as the user's) or ``tool``.
    observation_role: Literal["user", "tool"] = "user"
    max_observation_chars: int = 3000
    #: Act on the recoverable part of a turn that ran on past its action (text after it is dropped).
    lenient: bool = True
    #: A turn with no action and no final answer is the reply (chat); off, it is a format error (benchmarks).
    plain_reply_is_answer: bool = False
    seed: int = 0


def system_prompt(protocol: AgentProtocol, tools: Iterable[Tool], extra: str = "") -> str:
    """A protocol's instructions for some tools, then any extra text (worked examples, a persona)."""
    parts = [protocol.format_instruction([t.spec for t in tools]).strip(), extra.strip()]
    return "\n\n".join(p for p in parts if p)


class Agent:
    def __init__(self, backend: Backend, tools: Iterable[Tool] = (), config: AgentConfig | None = None):
        self.backend = backend
        self.config = config or AgentConfig()
        self.protocol: AgentProtocol = get_protocol(self.config.protocol)
        self.tools = {t.name: t for t in tools}
        self.replies: dict[str, str] = dict(_replies())

    # ------------------------------------------------------------------ prompts

    def system_prompt(self, tools: Iterable[Tool] | None = None, extra: str = "") -> str:
        """The protocol's instructions for these tools, plus any extra text (examples, persona)."""
        return system_prompt(self.protocol, self.tools.values() if tools is None else tools, extra)

    def stops(self) -> list[str]:
        return list(self.config.stop) if self.config.stop is not None else self.protocol.stop_sequences()

    def sampling(self) -> Sampling:
        return Sampling(max_new_tokens=self.config.max_new_tokens, stop=self.stops(), seed=self.config.seed)

    def start(
        self, question: str, *, history: Sequence[Message] = (), tools: Iterable[Tool] | None = None,
        system: str | None = None,
    ) -> Episode:
        """A new episode; the system prompt is added unless ``history`` already opens with one."""
        episode_tools = {t.name: t for t in tools} if tools is not None else dict(self.tools)
        messages = list(history)
        if not messages or messages[0].role != "system":
            messages.insert(0, Message("system", system if system is not None else self.system_prompt(episode_tools.values())))
        messages.append(Message("user", question))
        return Episode(messages=messages, tools=episode_tools)

    # ------------------------------------------------------------------ the loop

    def run(self, episodes: Sequence[Episode], on_step: Callable[[Episode, StepRecord], None] | None = None) -> list[Episode]:
        """Step every unfinished episode together until each finishes or hits the step limit."""
        sampling = self.sampling()
        while True:
            active = [e for e in episodes if not e.done]
            if not active:
                return list(episodes)
            responses = self.backend.generate(
                [GenerationRequest(list(e.messages), [t.spec for t in e.tools.values()], sampling) for e in active]
            )
            for episode, response in zip(active, responses, strict=True):
                record = self._step(episode, response)
                if on_step is not None:
                    on_step(episode, record)
                if not episode.done and len(episode.steps) >= self.config.max_steps:
                    episode.status = "max_steps"

    def ask(self, question: str, **kwargs: Any) -> Episode:
        return self.run([self.start(question, **kwargs)])[0]

    def _step(self, episode: Episode, response: str) -> StepRecord:
        record = StepRecord(response=response)
        episode.steps.append(record)
        parsed = self.protocol.parse(response)
        step: AgentStep | None
        if isinstance(parsed, ParseFailure):
            record.format_error = f"{parsed.kind.value}: {parsed.message}"
            step = parsed.partial if self._usable(parsed) else None
        else:
            step = parsed
        calls = [c for c in step.tool_calls if not is_null_action(c.name)] if step is not None else []  # "Action: None" calls nothing
        episode.messages.append(Message("assistant", response, tool_calls=list(calls), protocol=self.protocol.name))
        if step is None:
            if self.config.plain_reply_is_answer and isinstance(parsed, ParseFailure) and _is_plain(parsed, response):
                record.format_error = None
                return self._finish(episode, record, response.strip())
            return self._observe(episode, record, self.replies["format_error"].format(problem=record.format_error))
        record.thought = step.thought
        record.actions = [c.to_dict() for c in calls]
        if step.final_answer is not None and not calls:
            return self._finish(episode, record, step.final_answer.strip())
        finish = next((c for c in calls if is_answer_action(c.name) and c.name not in episode.tools), None)
        if finish is not None:
            return self._finish_call(episode, record, finish)
        if not calls:
            if self.config.plain_reply_is_answer:
                return self._finish(episode, record, (step.thought or response).strip())
            return self._observe(episode, record, self.replies["no_action"])
        observations = [self._call(episode, c) for c in calls]
        return self._observe(episode, record, "\n".join(observations), calls=calls)

    def _usable(self, failure: ParseFailure) -> bool:
        """A failure whose recovered step can be acted on: extra text after a complete action."""
        partial = failure.partial
        return (
            self.config.lenient
            and failure.kind is FailureKind.EXTRA_TEXT
            and partial is not None
            and (bool(partial.tool_calls) or partial.final_answer is not None)
        )

    def _finish(self, episode: Episode, record: StepRecord, answer: str) -> StepRecord:
        record.final_answer = answer
        episode.answer = answer
        episode.status = "finished"
        return record

    def _finish_call(self, episode: Episode, record: StepRecord, call: ToolCall) -> StepRecord:
        """ToolLLaMA ends with a ``Finish`` call: ``give_answer`` with ``final_answer``, or it gives up."""
        args = call.arguments
        if args.get("return_type") == "give_up_and_restart":
            episode.status = "gave_up"
            return record
        answer = next((args[k] for k in ("final_answer", "answer", "response") if k in args), None)
        if answer is None:
            answer = call.raw_arguments or ""
        return self._finish(episode, record, answer if isinstance(answer, str) else dumps(answer))

    def _call(self, episode: Episode, call: ToolCall) -> str:
        r = self.replies
        tool_ = episode.tools.get(call.name)
        if tool_ is None:
            return r["unknown_tool"].format(name=call.name, names=", ".join(episode.tools) or "(none)")
        if not call.arguments_ok:
            return r["bad_arguments"].format(name=call.name, problem=call.arguments_error)
        problems = tool_.spec.argument_errors(call.arguments)
        if problems:
            return r["bad_arguments"].format(name=call.name, problem="; ".join(problems))
        try:
            result = tool_.fn(**call.arguments)
        except Exception as exc:  # a tool's bug is an observation, not the end of the run
            return r["tool_error"].format(name=call.name, problem=f"{type(exc).__name__}: {exc}")
        text = result if isinstance(result, str) else dumps(result)
        limit = self.config.max_observation_chars
        if len(text) > limit:
            text = text[:limit] + r["truncated"].format(dropped=len(text) - limit)
        return text

    def _observe(self, episode: Episode, record: StepRecord, text: str, calls: Sequence[ToolCall] = ()) -> StepRecord:
        record.observation = text
        if self.config.observation_role == "tool":
            call = calls[0] if calls else None
            episode.messages.append(
                Message("tool", text, name=call.name if call else None, tool_call_id=call.id if call else None)
            )
        else:
            episode.messages.append(Message("user", self.protocol.render_observation(text)))
        return record


@functools.cache
def _replies() -> dict[str, str]:
    """What the runtime says back to the model when a step goes wrong (``data/agent/replies.yaml``)."""
    import yaml

    text = resources.files("agentflan").joinpath("data/agent/replies.yaml").read_text(encoding="utf-8")
    loaded: dict[str, str] = yaml.safe_load(text)
    return loaded


def _is_plain(failure: ParseFailure, response: str) -> bool:
    """Text that attempts no action at all (a direct reply), as opposed to a broken action or a
    call written in another convention than the protocol's."""
    partial = failure.partial
    attempted = partial is not None and any(not is_null_action(c.name) for c in partial.tool_calls)
    return failure.kind is FailureKind.MISSING_FIELD and not attempted and not detect_calls(response)
