"""``agentflan chat --model ...``: talk to a model that can call tools, in the terminal."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from agentflan.agent import Agent, AgentConfig, Episode, StepRecord, Tool, load_tools
from agentflan.cli._backend import add_backend_options, backend_from_args
from agentflan.cli._help import RawDescriptionHelpFormatter
from agentflan.cli._spinner import Spinner
from agentflan.conversation import Message
from agentflan.generation.base import GenerationRequest
from agentflan.jsonutil import dumps

DEMO_TOOLS = "agentflan.evaluate.demo_tools:DEMO_TOOLS"

EPILOG = f"""\
With tools (the default offers {DEMO_TOOLS}: a calculator and a clock), each message runs
the agent loop: the model writes steps in the protocol (react by default), agentflan calls
the tools and feeds their results back until the model gives a final answer. Each step is
shown as it happens. With --no-tools it is a plain chat.

A tool is any Python callable with type hints (its docstring is the description), or an
agentflan.agent.Tool, or a list of them: --tools mypkg.tools:search.

commands while chatting: /reset (forget the conversation), /tools (list tools), /exit (or Ctrl-D)

examples:
  agentflan chat --model out/final
  agentflan chat --backend openai --base-url http://127.0.0.1:8000/v1 --model my-model --tools mypkg.tools:search
  echo "What is 17 * 23?" | agentflan chat --model out/final --template agentflan
"""


def add_parser(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = subparsers.add_parser(
        name,
        help=help_text,
        description="Chat with a (tuned) model in the terminal; it may call the tools you give it.",
        epilog=EPILOG,
        formatter_class=RawDescriptionHelpFormatter,
    )
    add_backend_options(p)
    g = p.add_argument_group("agent")
    g.add_argument("--tools", action="append", default=[], metavar="MODULE:CALLABLE", help=f"tools to offer; repeatable (default: {DEMO_TOOLS})")
    g.add_argument("--no-tools", action="store_true", help="plain chat: no tools, no protocol")
    g.add_argument("--protocol", default="react", metavar="NAME", help="agent protocol for tool use (default react; also json, json-goal)")
    g.add_argument("--system", metavar="TEXT", help="extra system-prompt text (after the protocol's tool instructions)")
    g.add_argument("--max-steps", type=int, default=8, metavar="N", help="model turns per message before it must stop (default 8)")
    g.add_argument("--max-new-tokens", type=int, default=512, metavar="N", help="tokens per model turn (default 512)")
    g.add_argument("--quiet", action="store_true", help="show only final answers, not the steps")


CHAT_HELP = """\
/help   this list
/tools  the tools the model may call
/reset  start a new conversation
/exit   leave (also /quit, Ctrl-D)
Ctrl-C while the model answers stops that answer; the conversation goes on without it."""


def run(args: argparse.Namespace) -> int:
    tools: list[Tool] = []
    if not args.no_tools:
        for spec in args.tools or [DEMO_TOOLS]:
            tools.extend(load_tools(spec))
    backend = backend_from_args(args)
    config = AgentConfig(
        protocol=args.protocol, max_steps=args.max_steps, max_new_tokens=args.max_new_tokens, plain_reply_is_answer=True
    )
    agent = Agent(backend, tools, config)
    session = ChatSession(agent, use_tools=not args.no_tools, system=args.system, quiet=args.quiet)
    interactive = sys.stdin.isatty()
    if interactive:
        names = ", ".join(agent.tools) or "none"
        print(f"agentflan chat · {args.model} ({args.backend}) · tools: {names} · /exit to leave")
    try:
        while True:
            try:
                line = input("you> ") if interactive else sys.stdin.readline()
            except EOFError:
                break
            if not interactive and not line:
                break
            line = line.strip()
            if not line:
                continue
            if line.startswith("/"):  # commands never reach the model
                command = line.split()[0]
                if command in ("/exit", "/quit"):
                    break
                if command == "/reset":
                    session.reset()
                    print("(conversation cleared)")
                elif command == "/tools":
                    for t in agent.tools.values():
                        print(f"{t.name}: {t.description}")
                elif command == "/help":
                    print(CHAT_HELP)
                else:
                    print(f"unknown command {command}; /help lists the commands")
                continue
            try:
                session.send(line)
            except KeyboardInterrupt:  # Ctrl-C stops this reply, not the session
                print("\n(reply stopped; it is not part of the conversation)")
    except KeyboardInterrupt:
        print()
    finally:
        backend.close()
    return 0


class ChatSession:
    """The conversation so far; each message runs the agent (or one plain generation) on top of it."""

    def __init__(self, agent: Agent, *, use_tools: bool, system: str | None, quiet: bool, out: TextIO | None = None):
        self.agent = agent
        self.use_tools = use_tools
        self.system = system
        self.quiet = quiet
        self.out = out or sys.stdout
        self.history: list[Message] = []
        self._spinner: Spinner | None = None

    def reset(self) -> None:
        self.history = []

    def send(self, text: str) -> str:
        """The reply to ``text``; on a terminal a spinner runs while the model generates."""
        with Spinner(self.out) as self._spinner:
            reply = self._reply(text)
        self._print(f"assistant> {reply}")
        return reply

    def _reply(self, text: str) -> str:
        if not self.use_tools:
            messages = list(self.history)
            if not messages and self.system:
                messages.append(Message("system", self.system))
            messages.append(Message("user", text))
            sampling = self.agent.sampling()
            sampling.stop = []
            reply = self.agent.backend.generate([GenerationRequest(messages, [], sampling)])[0].strip()
            self.history = [*messages, Message("assistant", reply)]  # an interrupted reply leaves no trace
            return reply
        system = None if self.history else self.agent.system_prompt(extra=self.system or "")
        episode = self.agent.start(text, history=self.history, system=system)
        self.agent.run([episode], on_step=None if self.quiet else self._show_step)
        self.history = episode.messages
        if episode.answer is None:
            return f"(no final answer after {len(episode.steps)} steps: {episode.status})"
        return episode.answer

    def _show_step(self, _episode: Episode, step: StepRecord) -> None:
        if step.thought:
            self._print(f"  · thought: {step.thought}")
        if step.final_answer is not None and not step.actions:
            return
        for action in step.actions:
            self._print(f"  → {action['name']}({dumps(action.get('arguments') or {})})")
        if step.format_error:
            self._print(f"  ! format: {step.format_error}")
        if step.observation is not None:
            self._print(f"  ← {step.observation}")

    def _print(self, line: str) -> None:
        """A line of the conversation, above the spinner while one runs."""
        if self._spinner is not None:
            self._spinner.print(line)
        else:
            print(line, file=self.out)
            self.out.flush()
