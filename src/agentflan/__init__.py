"""agentflan: the Agent-FLAN method end to end — data, training and evaluation of honest agents."""

from pathlib import Path

from agentflan.conversation import Capability, Conversation, Message, Span, Tool, ToolCall

#: The package's data files (phrasings, protocol templates, format strings), read beside the
#: modules: importlib.resources' readers cost more start-up than the file they read (tempfile,
#: zipfile), and agentflan is always installed as files.
DATA_DIR = Path(__file__).parent / "data"

__version__ = "0.1.0"

__all__ = ["DATA_DIR", "Capability", "Conversation", "Message", "Span", "Tool", "ToolCall", "__version__"]
