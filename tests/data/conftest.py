"""Helpers for the data-pipeline tests: real tokenizers, real templates, datasets written to tmp_path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def qwen3_tok(tokenizer_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tokenizer_dir("qwen3"))


@pytest.fixture(scope="session")
def qwen3_tpl(qwen3_tok):
    """Qwen3 through its own (official) chat template: the jinja path, template unset."""
    from lmforge.templates import get_template

    return get_template(None, qwen3_tok)


def write_dataset_dir(root: Path, files: dict[str, Any], info: dict[str, Any]) -> Path:
    """Write data files (list of rows -> .json array, .jsonl lines; str -> raw text) and dataset_info.json."""
    root.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(rows, str):
            path.write_text(rows, encoding="utf-8")
        elif name.endswith(".jsonl"):
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        else:
            path.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    (root / "dataset_info.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
    return root


@pytest.fixture
def data_dir(tmp_path):
    """data_dir(files, info, folder="data") -> tmp_path/folder holding the files and dataset_info.json."""
    return lambda files, info, folder="data": write_dataset_dir(tmp_path / folder, files, info)


@pytest.fixture
def make_cfg(tmp_path, tokenizer_dir):
    """make_cfg(dataset=..., **keys) -> a validated Config whose datasets cache lives in tmp_path."""
    from lmforge.config import load_config

    def make(**keys: Any):
        raw = {"model_name_or_path": str(tokenizer_dir("qwen3")), "dataset_dir": str(tmp_path / "data"),
               "output_dir": str(tmp_path / "out"), "cache_dir": str(tmp_path / "hf_cache"),
               "report_to": "none"}
        raw.update(keys)
        return load_config(raw, command="preview")

    return make
