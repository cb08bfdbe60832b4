"""Pieces the commands share: options, progress bars, and models checked before they load."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

from agentflan.errors import AgentflanError, ConfigError, first_line, unloadable

T = TypeVar("T")
# Seconds to wait for the hub's answer before a hub id that is not cached is called unreachable: the
# hub's own client would retry for about a minute, printing a warning per try.
HUB_PROBE_S = 5.0
# Files a Hugging Face model or tokenizer folder holds at least one of.
MODEL_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "adapter_config.json")


class HelpWithEpilog(argparse.Action):
    """``-h/--help`` whose epilog is made when asked for: it is generated from config fields,
    and building every command's parser must not import them."""

    def __init__(self, option_strings: Sequence[str], dest: str, epilog: Callable[[], str], help: str | None = None):
        super().__init__(option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0, help=help)
        self.make_epilog = epilog

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option_string: str | None = None) -> None:
        parser.epilog = self.make_epilog()
        parser.print_help()
        parser.exit()


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
    if not sys.stderr.isatty():  # what tqdm's disable=None decides, without importing tqdm (30 ms)
        yield from items
        return
    from tqdm import tqdm

    from agentflan.evaluate.progress_lines import logs_above_bar

    with logs_above_bar():  # a reader's or writer's warning prints above the counter, not into it
        yield from tqdm(items, desc=desc, unit=" conv", file=sys.stderr, disable=None, dynamic_ncols=True, leave=False)


def model_problem(spec: str, what: str = "model") -> str | None:
    """Why ``spec`` cannot be a model or tokenizer (``what`` names which in the message), checked before
    anything loads; None when it may be.

    A local folder must hold a ``config.json`` or tokenizer files; a name that looks like a path
    but does not exist is named as such rather than tried on the hub."""
    path = Path(spec).expanduser()
    if path.is_dir():
        if not any((path / f).is_file() for f in MODEL_FILES):
            return f"{what} {spec!r}: the folder has none of {', '.join(MODEL_FILES)} (not a Hugging Face model folder)"
        return None
    if path.exists():
        return f"{what} {spec!r}: a file, not a {what} folder"
    looks_local = spec.startswith((".", "/", "~")) or spec.count("/") > 1 or "\\" in spec
    if looks_local:
        return f"{what} {spec!r}: no such folder"
    return hub_problem(spec, what)


def hub_problem(spec: str, what: str = "model") -> str | None:
    """Why the hub id ``spec`` cannot load here, known in seconds instead of after the hub client's
    minute of retries; None when it may load.

    With ``HF_HUB_OFFLINE`` set, or the hub unreachable, only the local cache can serve it. A cached
    model then loads offline at once (the process switches the hub to offline mode)."""
    try:
        from huggingface_hub import constants
    except ImportError:  # no hub client: transformers' own error will say so
        return None
    cache = Path(constants.HF_HUB_CACHE)
    cached = any((cache / f"models--{spec.replace('/', '--')}" / "snapshots").glob("*/"))
    where = f"not a local folder, and not in the Hugging Face cache ({cache})"
    if constants.is_offline_mode():
        return None if cached else f"{what} {spec!r}: {where}; HF_HUB_OFFLINE is set, so the hub was not asked"
    unreachable = hub_unreachable()
    if unreachable is None:
        return None
    if cached:
        constants.HF_HUB_OFFLINE = True  # read at each request by huggingface_hub and transformers
        os.environ["HF_HUB_OFFLINE"] = "1"  # and by any process started from here
        return None
    return f"{what} {spec!r}: {where}, and the hub {constants.ENDPOINT} cannot be reached ({unreachable})"


def hub_unreachable() -> str | None:
    """Why one plain request to the hub endpoint failed (through the hub client's own session, so its
    proxy and endpoint settings apply), or None when anything answered."""
    from huggingface_hub import constants
    from huggingface_hub.utils import get_session

    try:
        get_session().head(constants.ENDPOINT, timeout=HUB_PROBE_S)
    except Exception as exc:  # the session is httpx or requests by hub version; any failure means no answer
        return first_line(exc) or type(exc).__name__
    return None


def load_tokenizer(spec: str, *, trust_remote_code: bool = False) -> Any:
    """A transformers tokenizer from a local folder or hub id, or a one-line :class:`ConfigError`."""
    problem = model_problem(spec, "tokenizer")
    if problem:
        raise ConfigError(problem)
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(spec, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        raise ConfigError(unloadable(spec, exc, "tokenizer")) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


@contextmanager
def model_errors(spec: str) -> Iterator[None]:
    """Turn transformers' and the hub's errors about loading ``spec`` into one :class:`ConfigError` line
    (their own messages run to several lines, and the hub logs a warning per retried request)."""
    import logging  # here, not at the top: a one-file convert never needs it

    with suppress(ImportError):
        # Its logging module sets the library's level when first imported (lazily, by the first
        # download), which would undo a level set before it: import it now, quiet it after that.
        import huggingface_hub.utils.logging  # noqa: F401
    hub_log = logging.getLogger("huggingface_hub")
    level = hub_log.level
    hub_log.setLevel(logging.ERROR)
    try:
        yield
    except (OSError, ValueError) as exc:
        if not _raised_by_model_loading(exc):
            raise
        raise ConfigError(unloadable(spec, exc)) from None
    except AgentflanError as exc:
        text = str(exc)
        if "\n" not in text or spec not in text:
            raise
        raise ConfigError(text.splitlines()[0]) from None
    finally:
        hub_log.setLevel(level)


def _raised_by_model_loading(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if f"{os.sep}transformers{os.sep}" in filename or f"{os.sep}huggingface_hub{os.sep}" in filename:
            return True
        tb = tb.tb_next
    return False


def check_model(spec: str, what: str = "model") -> None:
    """:func:`model_problem` as a :class:`ConfigError`; a ``.gguf`` file is a model too."""
    if what == "model" and Path(spec).suffix == ".gguf" and Path(spec).is_file():
        return
    problem = model_problem(spec, what)
    if problem:
        raise ConfigError(problem)


def check_data_path(spec: str) -> None:
    """A corpus path that cannot exist (no file or folder, not a glob, not ``hf://``) as a :class:`ConfigError`."""
    from agentflan.sources.hub import saved_dataset_split

    if spec.startswith("hf://") or any(ch in spec for ch in "*?[") or saved_dataset_split(spec) is not None:
        return
    if not Path(spec).expanduser().exists():
        raise ConfigError(f"data {spec!r}: no such file or folder")
