"""DatasetSpec -> rows: a `datasets.Dataset` (or `IterableDataset` when streaming), still in its own columns.

Local files go through `datasets.load_dataset(<builder>, data_files=...)`, so their rows and every later
`map` are cached by datasets' fingerprints. A folder is read whole and must hold files of one type (hidden
files are skipped; files are taken in sorted order so row order does not depend on the file system).
Hub datasets take `subset` as the config name, `folder` as `data_dir`, `split`, `revision`, the model's
`cache_dir` and `hf_hub_token`; ModelScope (`USE_MODELSCOPE_HUB=1` or an entry with only `ms_hub_url`)
the same through `modelscope.MsDataset`.

`num_samples` (registry) and `max_samples` (config) are applied in LLaMA-Factory's order: first
`num_samples` rows drawn without replacement (every row once, in a seeded random order) and, when it asks
for more rows than the file has, topped up by seeded draws with replacement; then the first `max_samples`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lmforge.data.registry import DatasetSpec
from lmforge.errors import DataError

logger = logging.getLogger(__name__)

# file extension -> datasets' packaged builder
FILE_TYPES = {"arrow": "arrow", "csv": "csv", "json": "json", "jsonl": "json", "parquet": "parquet",
              "txt": "text"}


@dataclass
class Rows:
    dataset: Any  # datasets.Dataset | datasets.IterableDataset
    # position -> row number in the source when sampling reordered the rows; None means identity
    source_rows: np.ndarray | None = None

    def source_row(self, position: int) -> int:
        return int(self.source_rows[position]) if self.source_rows is not None else position


def load_rows(spec: DatasetSpec, *, cache_dir: str | None = None, hf_token: str | None = None,
              ms_token: str | None = None, streaming: bool = False, num_proc: int | None = None,
              seed: int = 42, max_samples: int | None = None) -> Rows:
    """Load the rows of one dataset as registered."""
    logger.info("loading %s from %s '%s'", spec.describe(), spec.load_from, spec.path)
    if spec.load_from == "file":
        dataset = _load_files(spec, cache_dir=cache_dir, num_proc=num_proc)
        if streaming:  # as LLaMA-Factory: read the local files once, then iterate (faster than streaming)
            dataset = dataset.to_iterable_dataset()
    elif spec.load_from == "ms_hub":
        dataset = _load_modelscope(spec, cache_dir=cache_dir, token=ms_token, streaming=streaming)
    else:  # hf_hub or script
        dataset = _load_hub(spec, cache_dir=cache_dir, token=hf_token, streaming=streaming, num_proc=num_proc)
    return sample_rows(dataset, spec, seed=seed, max_samples=max_samples, streaming=streaming)


def sample_rows(dataset: Any, spec: DatasetSpec, *, seed: int, max_samples: int | None,
                streaming: bool) -> Rows:
    source_rows = None
    if spec.num_samples is not None:
        if streaming:
            logger.warning("%s: num_samples is ignored when streaming", spec.describe())
        else:
            source_rows = sample_indices(len(dataset), spec.num_samples, seed)
            dataset = dataset.select(source_rows)
            logger.info("%s: sampled %d rows", spec.describe(), spec.num_samples)
    if max_samples is not None:
        if streaming:
            dataset = dataset.take(max_samples)
        elif len(dataset) > max_samples:
            dataset = dataset.select(range(max_samples))
            source_rows = source_rows[:max_samples] if source_rows is not None else None
    return Rows(dataset, source_rows)


def sample_indices(n: int, target: int, seed: int) -> np.ndarray:
    """`target` row indices out of `n`: each row at most once while target <= n, all rows plus seeded
    extra draws (with replacement) beyond that."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    indices = rng.permutation(n)[:target]
    if target > n:
        indices = np.concatenate([indices, rng.choice(n, target - n)])
    return indices.astype(np.int64)


# ---------------------------------------------------------------------------------------------------------
# local files


def data_files_of(path: str) -> tuple[str, list[str]]:
    """(builder name, files) for a local file or folder; DataError if missing or of mixed/unknown types."""
    p = Path(path)
    if p.is_dir():
        files = sorted(str(f) for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
        if not files:
            raise DataError(f"folder '{path}' holds no data files")
    elif p.is_file():
        files = [str(p)]
    else:
        raise DataError(f"file '{path}' not found")
    builders = {f: FILE_TYPES.get(Path(f).suffix.lstrip(".").lower()) for f in files}
    unknown = [f for f, b in builders.items() if b is None]
    if unknown:
        raise DataError(f"'{unknown[0]}': unsupported file type; accepted extensions: "
                        f"{', '.join(FILE_TYPES)}")
    kinds = sorted(set(builders.values()))
    if len(kinds) > 1:
        raise DataError(f"folder '{path}' mixes file types ({', '.join(kinds)}); a dataset folder must "
                        "hold files of one type")
    return kinds[0], files


def _load_files(spec: DatasetSpec, *, cache_dir: str | None, num_proc: int | None) -> Any:
    from datasets import load_dataset

    builder, files = data_files_of(spec.path)
    try:
        return load_dataset(builder, data_files={spec.split: files}, split=spec.split, cache_dir=cache_dir,
                            num_proc=_num_proc(num_proc, len(files)))
    except Exception as e:
        if builder == "json":
            for file in files:
                where = locate_json_error(file)
                if where:
                    raise DataError(f"{spec.describe()}: malformed JSON in '{file}' at {where}") from None
        raise DataError(f"{spec.describe()}: cannot read {', '.join(files)}: {_reason(e)}") from e


def _num_proc(num_proc: int | None, n_files: int) -> int | None:
    # datasets spreads file reading over processes by file; more processes than files only costs startup
    if num_proc is None or num_proc <= 1:
        return None
    return min(num_proc, n_files) if n_files > 1 else None


def _reason(e: BaseException) -> str:
    """The innermost message of a chained exception (datasets wraps the useful one)."""
    while e.__cause__ is not None or e.__context__ is not None:
        e = e.__cause__ or e.__context__
    return f"{type(e).__name__}: {e}"


def locate_json_error(path: str) -> str | None:
    """'line L, column C: message' of the first JSON syntax error in a .json / .jsonl file, or None.

    A file is read as one JSON document when it starts with '[' or parses whole, else as JSON Lines (one
    object per line), which is how datasets' json builder reads them too.
    """
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    stripped = text.lstrip()
    if not stripped:
        return None
    whole_error = None
    try:
        json.loads(text)
        return None
    except json.JSONDecodeError as e:
        whole_error = f"line {e.lineno}, column {e.colno}: {e.msg}"
    first_line = stripped.splitlines()[0]
    if stripped.startswith("[") or not _parses(first_line):
        return whole_error
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            json.loads(line)
        except json.JSONDecodeError as e:
            return f"line {lineno}, column {e.colno}: {e.msg}"
    return None


def _parses(line: str) -> bool:
    try:
        json.loads(line)
        return True
    except json.JSONDecodeError:
        return False


# ---------------------------------------------------------------------------------------------------------
# hubs and scripts


def hub_load_kwargs(spec: DatasetSpec, *, cache_dir: str | None, token: str | None, streaming: bool,
                    num_proc: int | None) -> dict[str, Any]:
    """The keyword arguments of `datasets.load_dataset` for a hub (or script / local folder) dataset."""
    kwargs: dict[str, Any] = dict(path=spec.path, name=spec.subset, data_dir=spec.folder, split=spec.split,
                                  cache_dir=cache_dir, token=token, streaming=streaming)
    if spec.revision:
        kwargs["revision"] = spec.revision
    if not streaming and num_proc and num_proc > 1:
        kwargs["num_proc"] = num_proc
    return kwargs


def _load_hub(spec: DatasetSpec, *, cache_dir: str | None, token: str | None, streaming: bool,
              num_proc: int | None) -> Any:
    from datasets import load_dataset

    kwargs = hub_load_kwargs(spec, cache_dir=cache_dir, token=token, streaming=streaming, num_proc=num_proc)
    try:
        return load_dataset(**kwargs)
    except Exception as e:
        reason = _reason(e)
        if "scripts are no longer supported" in reason:
            raise DataError(f"{spec.describe()}: '{spec.path}' is a dataset loading script, which datasets "
                            ">= 4 no longer runs; convert it to data files (json/jsonl/csv/parquet) and "
                            "register them with file_name") from None
        raise DataError(f"{spec.describe()}: cannot load '{spec.path}' (subset={spec.subset}, "
                        f"split={spec.split}, folder={spec.folder}): {reason}") from e


def _load_modelscope(spec: DatasetSpec, *, cache_dir: str | None, token: str | None, streaming: bool) -> Any:
    try:
        from modelscope import MsDataset
    except ImportError:
        raise DataError(f"{spec.describe()} is on ModelScope (ms_hub_url), which needs the modelscope "
                        "package: pip install 'modelscope>=1.20' (or unset USE_MODELSCOPE_HUB to use "
                        "hf_hub_url)") from None
    try:
        dataset = MsDataset.load(dataset_name=spec.path, subset_name=spec.subset, data_dir=spec.folder,
                                 split=spec.split, cache_dir=cache_dir, token=token, use_streaming=streaming)
    except Exception as e:
        raise DataError(f"{spec.describe()}: cannot load '{spec.path}' from ModelScope: {_reason(e)}") from e
    return dataset.to_hf_dataset() if isinstance(dataset, MsDataset) else dataset
