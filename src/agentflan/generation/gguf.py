"""GGUF checkpoints as ordinary Hugging Face model folders.

transformers reads a ``.gguf`` file (``from_pretrained(folder, gguf_file=name)``, with the ``gguf``
package) by de-quantizing it, but refuses ``save_pretrained`` on the result, and re-reading the
file costs minutes (the tokenizer is rebuilt from the GGUF vocabulary). A GGUF model is converted
once into a normal folder (safetensors weights + tokenizer), cached by the file's content hash,
and every command — ``train``, ``eval``, ``chat``, ``quickstart --model`` — then uses that folder.
The weights are the de-quantized values: fine-tuning continues from exactly what the GGUF holds.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from agentflan.errors import ConfigError
from agentflan.io import atomic_dir

log = logging.getLogger(__name__)


def is_gguf(model: str | os.PathLike[str]) -> bool:
    return str(model).lower().endswith(".gguf") and Path(model).is_file()


def gguf_cache_dir() -> Path:
    base = os.environ.get("AGENTFLAN_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "agentflan")
    return Path(base).expanduser() / "gguf"


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()[:16]


def convert_gguf(gguf: str | os.PathLike[str], out: str | os.PathLike[str], dtype: str = "float32") -> Path:
    """Write ``gguf`` as a Hugging Face folder at ``out`` (atomically); returns ``out``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(gguf)
    if not path.is_file():
        raise ConfigError(f"GGUF file {path} does not exist")
    try:
        import gguf as _gguf  # noqa: F401  (transformers needs it to read the file)
    except ImportError:
        raise ConfigError("reading a .gguf model needs the gguf package: pip install gguf") from None
    torch_dtype = getattr(torch, dtype, None)
    if not isinstance(torch_dtype, torch.dtype):
        raise ConfigError(f"unknown dtype {dtype!r}; use float32, bfloat16 or float16")
    log.warning("converting %s to a Hugging Face folder (once; it takes a few minutes)", path)
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch_dtype)
    _forget_quantization(model)
    with atomic_dir(out) as tmp:
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
    return Path(out)


def _forget_quantization(model: Any) -> None:
    """The weights are already de-quantized tensors; what stops ``save_pretrained`` is only the record
    that they came from GGUF."""
    model.hf_quantizer = None
    if hasattr(model, "is_quantized"):
        model.is_quantized = False
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config


def resolve_model(model: str) -> str:
    """``model`` itself, or for a ``.gguf`` file the cached Hugging Face folder converted from it."""
    if not is_gguf(model):
        return model
    path = Path(model).resolve()
    folder = gguf_cache_dir() / f"{path.stem}-{_digest(path)}"
    if not (folder / "config.json").is_file():
        convert_gguf(path, folder)
    return str(folder)
