"""Pieces the corpus commands (convert, inspect, validate) share: options and progress bars."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def add_from_option(parser: argparse.ArgumentParser) -> None:
    from agentflan.sources import format_names

    parser.add_argument(
        "--from",
        dest="from_format",
        choices=format_names(),
        metavar="FORMAT",
        help=f"input format, one of: {', '.join(format_names())} (default: detected per file from its first record)",
    )


def progress(items: Iterable[T], desc: str) -> Iterator[T]:
    """A counter on stderr while the items stream (hidden when stderr is not a terminal)."""
    from tqdm import tqdm

    yield from tqdm(items, desc=desc, unit=" conv", file=sys.stderr, disable=None, dynamic_ncols=True, leave=False)
