"""Agent protocols: the text formats an agent reads and writes.

Importing this package registers the built-in protocols with :func:`get_protocol`.
"""

from agentflan.protocols import agentinstruct as _agentinstruct  # noqa: F401
from agentflan.protocols import call_objects as _call_objects  # noqa: F401
from agentflan.protocols import fireact as _fireact  # noqa: F401
from agentflan.protocols import json_protocol as _json_protocol  # noqa: F401
from agentflan.protocols import react as _react  # noqa: F401
from agentflan.protocols._common import describe_tools, load_template, tool_entry, tool_prompt
from agentflan.protocols.base import get_protocol, protocol_names
from agentflan.protocols.calls import ANSWER_ACTIONS, detect_calls, is_answer_action, is_null_action

__all__ = [
    "ANSWER_ACTIONS",
    "describe_tools",
    "detect_calls",
    "get_protocol",
    "is_answer_action",
    "is_null_action",
    "load_template",
    "protocol_names",
    "tool_entry",
    "tool_prompt",
]
