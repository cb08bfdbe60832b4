"""``python -m agentflan.train CONFIG [--key value ...]``: the entry point for ``accelerate launch -m``.

Same arguments as ``agentflan train``; every process runs it, and the library decides which
process tokenises, logs and exports.
"""

from __future__ import annotations

import sys

from agentflan.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["train", *sys.argv[1:]]))
