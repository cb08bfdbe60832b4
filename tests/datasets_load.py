"""Load what agentflan wrote with whichever ``datasets`` runs this script; print the rows as JSON.

Run by tests/test_datasets_floor.py under the lowest ``datasets`` the project admits, and under
the installed one, so the two can be compared: ``python datasets_load.py JSONL HF_FOLDER CACHE``."""

from __future__ import annotations

import json
import sys

import datasets

jsonl, folder, cache = sys.argv[1:4]
datasets.disable_progress_bars()
from_json = datasets.load_dataset("json", data_files=jsonl, split="train", cache_dir=cache)
from_disk = datasets.load_from_disk(folder)
print(json.dumps({"version": datasets.__version__, "json": list(from_json), "disk": list(from_disk)}, sort_keys=True))
