"""Our ``sharegpt-tools`` output through LLaMA-Factory's own loader (its ``dataset_info.json``
parser, ``load_dataset`` call and sharegpt converter), on every real corpus.

LLaMA-Factory is not a dependency: it pins torchaudio, torchvision and gradio, which would drag a
second torch into the environment. The test runs when ``llamafactory`` is importable, or when
``AGENTFLAN_LLAMAFACTORY`` names its wheel (``pip download --no-deps llamafactory``) or an unpacked
copy; otherwise it skips and says so, under CI too (an optional peer, not missing data).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from agentflan.cli import main
from conftest import shared_path

CORPORA = [
    ("glaive", "glaive_toolcall_en_demo.json"),
    ("fireact", "hotpotqa_react_gpt.jsonl"),
    ("fireact", "multitask_multimethod_gpt.jsonl"),
    ("agentinstruct",),
    ("toolbench", "answers"),
    ("toolbench", "toolllama_reference"),
    ("agentflan_release", "samples.jsonl"),
]


def llamafactory_loader() -> Any:
    """LLaMA-Factory's ``llamafactory.data.loader`` module, or a skip that says why it is absent."""
    extra = os.environ.get("AGENTFLAN_LLAMAFACTORY")
    if extra and extra not in sys.path:
        sys.path.insert(0, extra)
    spec = importlib.util.find_spec("llamafactory")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(
            "LLaMA-Factory is an optional peer, not installed (it pins torchaudio/torchvision/gradio): "
            "`pip download --no-deps llamafactory -d DIR` and set AGENTFLAN_LLAMAFACTORY=DIR/llamafactory-*.whl to run this"
        )
    pytest.importorskip("datasets")
    root = Path(next(iter(spec.submodule_search_locations)))
    return _import_light("llamafactory.data.loader", root / "data")


def _import_light(module: str, package_dir: Path) -> Any:
    """Import ``module``; if its package's ``__init__`` needs what is not installed (the multimodal
    plugins: torchaudio, av; the CLI's omegaconf), enter the package without it: the module
    itself does not use them."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package_name = module.rsplit(".", 1)[0]
        for name in [n for n in sys.modules if n.startswith(package_name)]:
            del sys.modules[name]
        package = types.ModuleType(package_name)
        package.__path__ = [str(package_dir)]
        sys.modules[package_name] = package
        return importlib.import_module(module)


def load_with_llamafactory(dataset_dir: Path, name: str) -> Any:
    """The dataset ``name`` of ``dataset_dir/dataset_info.json`` as LLaMA-Factory aligns it for SFT."""
    loader = llamafactory_loader()
    hparams_dir = Path(loader.__file__).parents[1] / "hparams"
    data_args = _import_light("llamafactory.hparams.data_args", hparams_dir).DataArguments(
        dataset_dir=str(dataset_dir)
    )
    model_args = types.SimpleNamespace(cache_dir=str(dataset_dir / ".cache"), hf_hub_token=None)
    training_args = types.SimpleNamespace(local_process_index=0, seed=42, dataloader_num_workers=0)
    (attr,) = loader.get_dataset_list([name], str(dataset_dir))
    return loader._load_single_dataset(attr, model_args, data_args, training_args)


@pytest.mark.shared_data
@pytest.mark.parametrize("parts", CORPORA, ids=["/".join(p) for p in CORPORA])
def test_every_real_corpus_loads_in_llamafactory(
    parts: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = shared_path(*parts)
    out = tmp_path / "corpus.json"
    assert main(["convert", str(source), str(out), "--to", "sharegpt-tools", "--on-error", "skip", "--drop-loss-masks"]) == 0
    written = len(json.loads(out.read_text(encoding="utf-8")))
    assert written > 0, capsys.readouterr().out
    aligned = load_with_llamafactory(tmp_path, "corpus")
    assert aligned.num_rows == written
    # LLaMA-Factory keeps a row it cannot read as an empty prompt/response pair and drops it later.
    broken = [i for i, row in enumerate(aligned) if not row["_response"] or not row["_prompt"]]
    assert broken == [], f"{len(broken)} rows LLaMA-Factory finds abnormal, first {broken[:5]}"
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))["corpus"]
    rows = json.loads(out.read_text(encoding="utf-8"))
    for column in ("system", "tools"):
        assert (column in info["columns"]) == any(column in r for r in rows)
