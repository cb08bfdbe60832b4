"""Readers: agent corpora in every supported format, streamed into :class:`Conversation` objects.

``read(spec, format=None)`` takes a file, a glob, a folder, a parquet file, a ``save_to_disk``
folder or ``hf://owner/name[:split]``; the format is detected per file from its first record
unless named. Importing this package registers the built-in formats.
"""

from agentflan.sources import (  # noqa: F401  (imported to register the formats)
    agentflan,
    native,
    openai,
    react_messages,
    sharegpt,
    toolbench,
    toolllama,
)
from agentflan.sources import agentinstruct as _agentinstruct  # noqa: F401
from agentflan.sources.base import SourceFormat, register, source_formats
from agentflan.sources.pipeline import Located, detect_format, format_names, get_format, iter_located, read

__all__ = [
    "Located",
    "SourceFormat",
    "detect_format",
    "format_names",
    "get_format",
    "iter_located",
    "read",
    "register",
    "source_formats",
]
