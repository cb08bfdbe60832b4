"""agentflan: the Agent-FLAN method end to end — data, training and evaluation of honest agents."""

from agentflan.conversation import Capability, Conversation, Message, Span, Tool, ToolCall

__version__ = "0.1.0"

__all__ = ["Capability", "Conversation", "Message", "Span", "Tool", "ToolCall", "__version__"]
