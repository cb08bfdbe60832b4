"""The agent runtime: a model (any :mod:`agentflan.generation` backend) works a task through
tools in an agent protocol's text format. Evaluation (HotpotQA) and ``agentflan chat`` both run it.

- :mod:`~agentflan.agent.tools`: :class:`Tool` (a callable with a JSON schema), ``@tool``, ``load_tools``;
- :mod:`~agentflan.agent.runtime`: :class:`Agent`, its config, episodes and trajectory records.
"""

from agentflan.agent.runtime import Agent, AgentConfig, Episode, StepRecord, system_prompt
from agentflan.agent.tools import Tool, load_tools, schema_of, tool

__all__ = ["Agent", "AgentConfig", "Episode", "StepRecord", "Tool", "load_tools", "schema_of", "system_prompt", "tool"]
