"""Help formatters that size help text to the terminal as argparse's do, without ``shutil``.

argparse's formatter imports :mod:`shutil` (and with it zlib, bz2 and lzma) for the terminal width
the moment a parser gets its first argument: ~4 % of a one-file ``convert``'s CPU. The width comes
from the same place here (``COLUMNS``, then the terminal of stdout, then 80), so help reads alike.
"""

from __future__ import annotations

import argparse
import os
import sys


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, by the same rules."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class HelpFormatter(argparse.HelpFormatter):
    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None):
        super().__init__(prog, indent_increment, max_help_position, terminal_columns() - 2 if width is None else width)


class RawDescriptionHelpFormatter(argparse.RawDescriptionHelpFormatter, HelpFormatter):
    """Descriptions and epilogs as written (examples keep their lines), options wrapped to the terminal."""
