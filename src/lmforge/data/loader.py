"""The entry point training uses: `load_datasets(cfg, tokenizer, template, stage) -> DataSplits`.

Per dataset: registry -> rows (sources.py) -> conversations (formats.py, one cached `map` that writes each
conversation as JSON text plus the reason a row is invalid) -> invalid rows counted, reported and
dropped. Then the datasets are mixed (concat / interleave), the held-out split is cut (val_size), and each
split is encoded for the stage (encoding.py, a second cached `map`); pre-training with packing then cuts
the whole split's token stream into blocks of cutoff_len (a third map, in one process, in order).

Caching: both maps get explicit fingerprints built from the input's fingerprint, the settings that
change the output, the tokenizer (its full serialisation), the template (its rendering of probe
conversations) and the source code of formats.py/encoding.py. So a second run with the same config and
data reuses datasets' cache files instead of tokenizing again; `overwrite_cache: true` forces a rerun.
`tokenized_path` saves the encoded splits with save_to_disk, or loads them from there when present.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lmforge.data import encoding, formats
from lmforge.data.encoding import STAGE_KINDS, EncodeSettings
from lmforge.data.registry import DatasetSpec, get_dataset_specs
from lmforge.data.sources import Rows, load_rows
from lmforge.errors import DataError

logger = logging.getLogger(__name__)

STRICT_ENV = "LMFORGE_STRICT_DATA"
STATS_FILE = "lmforge_data_stats.json"
_SHOWN_ROWS = 5  # row numbers reported per skip reason


def strict_mode() -> bool:
    return os.environ.get(STRICT_ENV, "0").strip().lower() in ("1", "true", "yes", "on")


# ---------------------------------------------------------------------------------------------------------
# statistics


@dataclass
class Skipped:
    count: int = 0
    rows: list[int] = field(default_factory=list)  # the first few row numbers in the source file
    first: str = ""  # what was wrong with the first one


@dataclass
class DatasetStats:
    rows_loaded: int | None = None  # None when streaming
    rows_used: int | None = None
    skipped: dict[str, Skipped] = field(default_factory=dict)


@dataclass
class SplitStats:
    examples: int = 0
    tokens: int = 0
    loss_tokens: int = 0  # label tokens that are not -100 (unsupervised: reference reply tokens)
    truncated: int = 0
    from_cache: bool = False
    dropped_tokens: int = 0  # pt with packing: the final partial block's tokens


@dataclass
class DataStats:
    datasets: dict[str, DatasetStats] = field(default_factory=dict)
    splits: dict[str, SplitStats] = field(default_factory=dict)
    source: str = "encoded"  # encoded | tokenized_path | streaming (no token counts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataStats:
        datasets = {k: DatasetStats(v["rows_loaded"], v["rows_used"],
                                    {r: Skipped(**s) for r, s in v["skipped"].items()})
                    for k, v in d.get("datasets", {}).items()}
        return cls(datasets, {k: SplitStats(**v) for k, v in d.get("splits", {}).items()}, d.get("source", ""))

    def format(self) -> str:
        lines = []
        for name, s in self.datasets.items():
            if s.rows_loaded is None:
                lines.append(f"  {name}: streaming (rows not counted)")
                continue
            lines.append(f"  {name}: {s.rows_loaded} rows loaded, {s.rows_used} used")
            for reason, k in s.skipped.items():
                more = ", ..." if k.count > len(k.rows) else ""
                rows = ", ".join(map(str, k.rows))
                lines.append(f"    skipped {k.count} ({reason}): rows {rows}{more}; first: {k.first}")
        for name, s in self.splits.items():
            cached = " (from cache)" if s.from_cache else ""
            dropped = f", {s.dropped_tokens} tokens of the final partial block dropped" if s.dropped_tokens else ""
            lines.append(f"  {name}: {s.examples} examples, {s.tokens} tokens, {s.loss_tokens} loss tokens, "
                         f"{s.truncated} truncated{dropped}{cached}")
        return "\n".join(lines)


@dataclass
class DataSplits:
    train: Any = None  # datasets.Dataset | IterableDataset | None
    eval: Any = None  # Dataset | IterableDataset | dict[name, Dataset] | None
    stats: DataStats = field(default_factory=DataStats)


# ---------------------------------------------------------------------------------------------------------
# fingerprints


def _hash(*parts: Any) -> str:
    from datasets.fingerprint import Hasher

    return Hasher.hash(parts)


_CODE_VERSION: str | None = None


def _code_version() -> str:
    global _CODE_VERSION
    if _CODE_VERSION is None:
        texts = [Path(m.__file__).read_text(encoding="utf-8") for m in (formats, encoding)]
        _CODE_VERSION = _hash(*texts)
    return _CODE_VERSION


def tokenizer_fingerprint(tokenizer: Any) -> str:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    try:
        body = backend.to_str() if backend is not None else sorted(tokenizer.get_vocab().items())
    except Exception:  # a backend that cannot serialise itself: its vocabulary still identifies it
        body = sorted(tokenizer.get_vocab().items())
    return _hash(type(tokenizer).__name__, body, tokenizer.all_special_tokens, tokenizer.eos_token,
                 tokenizer.bos_token, getattr(tokenizer, "chat_template", None))


def template_fingerprint(template: Any) -> str:
    """What the template renders for a few probe conversations (a change of template code changes it)."""
    if template is None:
        return "none"
    from lmforge.data.conversation import Conversation, Message, ToolCall

    probes = [
        Conversation([Message("user", "u1"), Message("assistant", "a1"), Message("user", "u2"),
                      Message("assistant", "a2")], system="s"),
        Conversation([Message("user", "u"), Message("assistant", "a", reasoning="r")]),
        Conversation([Message("user", "u"), Message("assistant", "", tool_calls=[ToolCall("f", {"x": 1})]),
                      Message("tool", "t"), Message("assistant", "a")],
                     tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}]),
    ]
    rendered: list[Any] = [type(template).__name__, getattr(template, "name", None),
                           list(getattr(template, "stop_words", []))]
    for conv in probes:
        for flags in ({"enable_thinking": True}, {"enable_thinking": False},
                      {"enable_thinking": True, "add_generation_prompt": True}):
            try:
                rendered.append([(s.text, s.trainable, s.turn) for s in template.render(conv, **flags)])
            except Exception as e:  # a template may reject tools or reasoning; that is part of its behaviour
                rendered.append(f"{type(e).__name__}: {e}")
    return _hash(rendered)


# ---------------------------------------------------------------------------------------------------------
# conversion (rows -> conversations)


def convert_batch(batch: dict[str, list], indices: list[int], *, spec: DatasetSpec, stage: str,
                  media_dir: str | None, raise_invalid: bool = False, log_invalid: bool = False) -> dict:
    """datasets.map(batched=True, with_indices=True): rows -> `_conv` (JSON) / `_invalid` (reason) / `_detail`."""
    keys = list(batch)
    out: dict[str, list] = {"_conv": [], "_invalid": [], "_detail": []}
    for index, values in zip(indices, zip(*(batch[k] for k in keys), strict=True), strict=True):
        try:
            conv = formats.row_to_conversation(dict(zip(keys, values, strict=True)), spec, media_dir)
            formats.check_for_stage(conv, stage)
            out["_conv"].append(formats.dump_conversation(conv))
            out["_invalid"].append("")
            out["_detail"].append("")
        except formats.InvalidRow as e:
            if raise_invalid:
                raise DataError(f"{spec.describe()}: row {index} is invalid ({e.reason}): {e.detail} "
                                f"[{STRICT_ENV}=1]") from None
            if log_invalid:
                logger.warning("%s: skipping row %d (%s): %s", spec.describe(), index, e.reason, e.detail)
            out["_conv"].append("")
            out["_invalid"].append(e.reason)
            out["_detail"].append(e.detail)
    return out


def _is_valid(reasons: list[str]) -> list[bool]:
    return [r == "" for r in reasons]


def _is_streaming(ds: Any) -> bool:
    from datasets import IterableDataset

    return isinstance(ds, IterableDataset)


def _column_names(ds: Any) -> list[str]:
    if ds.column_names is not None:
        return list(ds.column_names)
    try:
        return list(next(iter(ds)).keys())
    except StopIteration:
        return []


def load_conversations(spec: DatasetSpec, rows: Rows, *, stage: str, cfg: Any) -> tuple[Any, DatasetStats]:
    """Rows of one dataset -> a dataset with one `_conv` column, invalid rows reported and removed."""
    d = cfg.data
    ds = rows.dataset
    formats.check_columns(spec, _column_names(ds))
    media_dir = d.media_dir or d.dataset_dir
    strict = strict_mode()
    if _is_streaming(ds):
        ds = ds.map(convert_batch, batched=True, with_indices=True, batch_size=d.preprocessing_batch_size,
                    remove_columns=_column_names(ds),
                    fn_kwargs=dict(spec=spec, stage=stage, media_dir=media_dir, raise_invalid=strict,
                                   log_invalid=True))
        ds = ds.filter(_is_valid, batched=True, input_columns="_invalid").remove_columns(["_invalid", "_detail"])
        return ds, DatasetStats()

    fingerprint = _hash(ds._fingerprint, asdict(spec), stage, media_dir, _code_version())
    ds = ds.map(convert_batch, batched=True, with_indices=True, batch_size=d.preprocessing_batch_size,
                num_proc=_workers(d.preprocessing_num_workers, len(ds)), remove_columns=ds.column_names,
                fn_kwargs=dict(spec=spec, stage=stage, media_dir=media_dir),
                load_from_cache_file=not d.overwrite_cache, new_fingerprint=fingerprint,
                desc=f"Reading {spec.name}")
    stats = DatasetStats(rows_loaded=len(ds))
    reasons = ds.with_format("arrow")["_invalid"].to_pylist()
    for position, reason in enumerate(reasons):
        if not reason:
            continue
        skipped = stats.skipped.setdefault(reason, Skipped())
        skipped.count += 1
        if len(skipped.rows) < _SHOWN_ROWS:
            skipped.rows.append(rows.source_row(position))
            skipped.first = skipped.first or ds[position]["_detail"]
    stats.rows_used = stats.rows_loaded - sum(s.count for s in stats.skipped.values())
    _report_skipped(spec, stats, strict)
    if stats.skipped:
        ds = ds.filter(_is_valid, batched=True, input_columns="_invalid",
                       load_from_cache_file=not d.overwrite_cache, new_fingerprint=_hash(fingerprint, "valid"))
    ds = ds.remove_columns(["_invalid", "_detail"])
    if len(ds) == 0:
        why = "; ".join(f"{k.count} {reason}" for reason, k in stats.skipped.items()) or "the data has no rows"
        raise DataError(f"{spec.describe()}: no usable rows ({why}). See data/README or docs/data.md for the "
                        f"{spec.formatting} format")
    return ds, stats


def _report_skipped(spec: DatasetSpec, stats: DatasetStats, strict: bool) -> None:
    if not stats.skipped:
        return
    lines = [f"{k.count} row(s): {reason} (rows {', '.join(map(str, k.rows))}"
             f"{', ...' if k.count > len(k.rows) else ''}; first: {k.first})"
             for reason, k in stats.skipped.items()]
    if strict:
        raise DataError(f"{spec.describe()}: invalid rows [{STRICT_ENV}=1]:\n  " + "\n  ".join(lines))
    logger.warning("%s: skipping %d of %d rows:\n  %s\n(set %s=1 to stop on invalid rows instead)",
                   spec.describe(), stats.rows_loaded - stats.rows_used, stats.rows_loaded, "\n  ".join(lines),
                   STRICT_ENV)


def _workers(num_workers: int | None, n_rows: int) -> int | None:
    if not num_workers or num_workers <= 1 or n_rows < 2:
        return None
    return min(num_workers, n_rows)


# ---------------------------------------------------------------------------------------------------------
# mixing and splitting


def merge(datasets: list[Any], cfg: Any) -> Any:
    d = cfg.data
    if len(datasets) == 1:
        return datasets[0]
    from datasets import concatenate_datasets, interleave_datasets

    if d.mix_strategy == "concat":
        return concatenate_datasets(datasets)
    strategy = "first_exhausted" if d.mix_strategy == "interleave_under" else "all_exhausted"
    return interleave_datasets(datasets, probabilities=d.interleave_probs, seed=cfg.training.seed,
                               stopping_strategy=strategy)


def split(ds: Any, cfg: Any) -> tuple[Any, Any]:
    """(train, eval) with val_size held out: a fraction in (0, 1) or a row count; seeded."""
    d, seed = cfg.data, cfg.training.seed
    if _is_streaming(ds):
        if d.val_size < 1:
            raise DataError(f"val_size={d.val_size}: when streaming, val_size must be a row count (>= 1)")
        ds = ds.shuffle(buffer_size=d.buffer_size, seed=seed)
        return ds.skip(int(d.val_size)), ds.take(int(d.val_size))
    n_eval = int(d.val_size) if d.val_size >= 1 else math.ceil(len(ds) * d.val_size)
    if not 0 < n_eval < len(ds):
        raise DataError(f"val_size={d.val_size} cannot split {len(ds)} rows into a training part and an "
                        f"evaluation part of {n_eval} rows")
    parts = ds.train_test_split(test_size=n_eval, seed=seed, load_from_cache_file=not d.overwrite_cache)
    return parts["train"], parts["test"]


# ---------------------------------------------------------------------------------------------------------
# encoding


def encode_settings(cfg: Any, kind: str, specs: list[DatasetSpec], media_plugin: Any = None) -> EncodeSettings:
    d = cfg.data
    media = any(s.columns.images or s.columns.videos or s.columns.audios for s in specs)
    return EncodeSettings(kind=kind, cutoff_len=d.cutoff_len, train_on_prompt=d.train_on_prompt,
                          mask_history=d.mask_history, enable_thinking=d.enable_thinking,
                          default_system=d.default_system, packing=bool(d.packing), media=media,
                          media_plugin=media_plugin if media else None)


def _has_plugin(template_name: str | None) -> bool:
    from lmforge.media import plugin_class

    return plugin_class(template_name) is not None


def _check_media(cfg: Any, kind: str, specs: list[DatasetSpec], media_plugin: Any) -> None:
    """Datasets with media need a vision-language template (its plugin); what this slice does not do yet is
    refused with the dataset's name."""
    for s in specs:
        for role in ("videos", "audios"):
            if getattr(s.columns, role):
                raise DataError(f"{s.describe()}: columns.{role}: {role} are not supported by lmforge yet "
                                "(images are, on Qwen2-VL / Qwen2.5-VL with template: qwen2_vl)")
        if s.columns.images and media_plugin is None and _has_plugin(cfg.data.template):
            raise DataError(f"{s.describe()}: column '{s.columns.images}' (columns.images) holds images; with "
                            f"template {cfg.data.template} they are read by `lmforge train` and preview so far, "
                            "not by this command")
        if s.columns.images and media_plugin is None:
            raise DataError(f"{s.describe()}: column '{s.columns.images}' (columns.images) holds images, but "
                            f"template '{cfg.data.template}' is text-only: a text-only model cannot see them and "
                            "would learn the <image> placeholders as plain text; train a vision-language model "
                            "with its template (Qwen2-VL / Qwen2.5-VL: template: qwen2_vl), or use a dataset "
                            "without images")
        if s.columns.images and kind != "supervised":
            what = "predict_with_generate" if kind == "unsupervised" else f"stage {cfg.finetuning.stage}"
            raise DataError(f"{s.describe()}: images with {what} are not supported yet (sft training and "
                            "evaluation by loss are)")


def _cache_exists(ds: Any, fingerprint: str) -> bool:
    if not ds.cache_files:
        return False
    folder = Path(ds.cache_files[0]["filename"]).parent
    return any(folder.glob(f"cache-{fingerprint}*.arrow"))


def encode(ds: Any, settings: EncodeSettings, tokenizer: Any, template: Any, cfg: Any,
           name: str) -> tuple[Any, SplitStats | None]:
    d = cfg.data
    kwargs = dict(batched=True, batch_size=d.preprocessing_batch_size, remove_columns=["_conv"],
                  fn_kwargs=dict(settings=settings, tokenizer=tokenizer, template=template))
    blocks = settings.kind == "pretrain" and settings.packing
    if _is_streaming(ds):
        ds = ds.map(encoding.encode_batch, **kwargs)
        if blocks:
            ds = ds.map(encoding.PretrainBlocks(settings.cutoff_len), batched=True, with_indices=True,
                        batch_size=d.preprocessing_batch_size, remove_columns=_PRETRAIN_COLUMNS)
        return ds.remove_columns("_truncated"), None
    fingerprint = _hash(ds._fingerprint, asdict(settings), tokenizer_fingerprint(tokenizer),
                        template_fingerprint(template), _code_version())
    cached = not d.overwrite_cache and _cache_exists(ds, fingerprint)
    logger.info("%s: %s", name, "re-using cached tokenization" if cached else "tokenizing")
    ds = ds.map(encoding.encode_batch, num_proc=_workers(d.preprocessing_num_workers, len(ds)),
                load_from_cache_file=not d.overwrite_cache, new_fingerprint=fingerprint,
                desc=f"Tokenizing {name}", **kwargs)
    dropped = 0
    if blocks:
        ds, dropped = pretrain_blocks(ds, settings.cutoff_len, cfg, name, _hash(fingerprint, "blocks"))
    if len(ds) == 0:
        what = f"fewer tokens than one block of cutoff_len={d.cutoff_len}: {dropped} in all" if blocks \
            else "no examples"
        raise DataError(f"{name}: the encoded dataset is empty ({what})")
    stats = split_stats(ds, settings.kind)
    stats.from_cache = cached
    stats.dropped_tokens = dropped
    return ds.remove_columns("_truncated"), stats


_PRETRAIN_COLUMNS = ["input_ids", "attention_mask", "labels", "_truncated"]


def pretrain_blocks(docs: Any, cutoff_len: int, cfg: Any, name: str, fingerprint: str) -> tuple[Any, int]:
    """Encoded documents -> blocks of cutoff_len concatenated over the WHOLE dataset, in one process and in
    order (tokenizing ran per worker shard and per map batch; cutting blocks there would drop a partial
    block per batch, and every block of a shard smaller than cutoff_len). Returns (blocks, tokens dropped):
    only the final partial block is dropped, and the log says how many tokens that is."""
    import pyarrow.compute as pc

    d = cfg.data
    total = pc.sum(pc.list_value_length(docs.with_format("arrow")["input_ids"])).as_py() or 0
    ds = docs.map(encoding.PretrainBlocks(cutoff_len), batched=True, with_indices=True,
                  batch_size=d.preprocessing_batch_size, remove_columns=_PRETRAIN_COLUMNS,
                  load_from_cache_file=not d.overwrite_cache, new_fingerprint=fingerprint,
                  desc=f"Concatenating {name} into blocks")
    dropped = total - len(ds) * cutoff_len
    logger.info("%s: %d documents, %d tokens -> %d blocks of cutoff_len=%d; the final partial block (%d tokens) "
                "is dropped", name, len(docs), total, len(ds), cutoff_len, dropped)
    return ds, dropped


def split_stats(ds: Any, kind: str) -> SplitStats:
    import pyarrow.compute as pc

    table = ds.with_format("arrow")
    sides = ("chosen_", "rejected_") if kind == "pairwise" else ("",)
    tokens = loss = 0
    for side in sides:
        ids = table[f"{side}input_ids"]
        labels = table[f"{side}labels"]
        tokens += pc.sum(pc.list_value_length(ids)).as_py() or 0
        loss += pc.sum(pc.not_equal(pc.list_flatten(labels), encoding.IGNORE_INDEX)).as_py() or 0
    truncated = pc.sum(table["_truncated"]).as_py() if "_truncated" in ds.column_names else 0
    return SplitStats(examples=len(ds), tokens=tokens, loss_tokens=loss, truncated=truncated or 0)


# ---------------------------------------------------------------------------------------------------------
# entry point


def _tokenized_exists(path: str | None) -> bool:
    return bool(path) and (Path(path) / "dataset_dict.json").is_file()


def _load_tokenized(cfg: Any) -> DataSplits:
    from datasets import load_from_disk

    path = cfg.data.tokenized_path
    dd = load_from_disk(path)
    logger.warning("loaded the tokenized dataset from %s (tokenized_path); the other data settings are not "
                   "applied to it", path)
    stats_file = Path(path) / STATS_FILE
    stats = DataStats.from_dict(json.loads(stats_file.read_text())) if stats_file.is_file() else DataStats()
    stats.source = "tokenized_path"
    train = dd.get("train")
    evals = {k.split("validation_", 1)[1]: v for k, v in dd.items() if k.startswith("validation_")}
    eval_ = dd.get("validation", evals or None)
    if cfg.data.streaming:
        train = train.to_iterable_dataset() if train is not None else None
        eval_ = ({k: v.to_iterable_dataset() for k, v in eval_.items()} if isinstance(eval_, dict)
                 else eval_.to_iterable_dataset() if eval_ is not None else None)
    return DataSplits(train, eval_, stats)


def _save_tokenized(splits: DataSplits, cfg: Any) -> None:
    from datasets import DatasetDict

    parts = {}
    if splits.train is not None:
        parts["train"] = splits.train
    if isinstance(splits.eval, dict):
        parts.update({f"validation_{k}": v for k, v in splits.eval.items()})
    elif splits.eval is not None:
        parts["validation"] = splits.eval
    path = cfg.data.tokenized_path
    DatasetDict(parts).save_to_disk(path)
    (Path(path) / STATS_FILE).write_text(json.dumps(splits.stats.to_dict(), indent=1))
    logger.warning("saved the tokenized dataset to %s (tokenized_path); later runs load it from there", path)


def _load_group(names: list[str] | None, cfg: Any, stage: str, kind: str, stats: DataStats,
                media_plugin: Any = None) -> tuple[list[DatasetSpec], list[tuple[str, Any]]]:
    """Load and convert each named dataset: (specs, [(name, conversations)])."""
    d, m = cfg.data, cfg.model
    specs = get_dataset_specs(names, d.dataset_dir, token=m.hf_hub_token)
    _check_media(cfg, kind, specs, media_plugin)
    out = []
    for spec in specs:
        if spec.ranking != (kind == "pairwise"):
            need = "a ranking dataset (ranking: true, with chosen/rejected)" if kind == "pairwise" \
                else "a dataset without ranking"
            raise DataError(f"{spec.describe()}: stage {cfg.finetuning.stage} needs {need}; this one has "
                            f"ranking: {str(spec.ranking).lower()}")
        rows = load_rows(spec, cache_dir=m.cache_dir, hf_token=m.hf_hub_token, ms_token=m.ms_hub_token,
                         streaming=d.streaming, num_proc=d.preprocessing_num_workers, seed=cfg.training.seed,
                         max_samples=d.max_samples)
        ds, ds_stats = load_conversations(spec, rows, stage=stage, cfg=cfg)
        stats.datasets[spec.name] = ds_stats
        out.append((spec.name, ds))
    return specs, out


def load_datasets(cfg: Any, tokenizer: Any, template: Any, stage: str, media_plugin: Any = None) -> DataSplits:
    """The encoded train and eval splits for `stage` (pt, sft, rm, dpo, kto, ppo, grpo) and their stats.
    `media_plugin` (lmforge.media) expands the image placeholders of datasets with an images column."""
    if stage not in STAGE_KINDS:
        raise DataError(f"unknown stage '{stage}' for data loading; expected one of {', '.join(STAGE_KINDS)}")
    d, t = cfg.data, cfg.training
    if d.tokenized_path and _tokenized_exists(d.tokenized_path) and not d.overwrite_cache:
        return _load_tokenized(cfg)
    if d.tokenized_path and d.streaming:
        raise DataError("tokenized_path with streaming: a streamed dataset cannot be saved; turn streaming off "
                        "to write tokenized_path (a saved one can be streamed later)")
    if d.val_size > 0 and d.eval_dataset:
        raise DataError("val_size and eval_dataset are both set; hold out part of the training data (val_size) "
                        "or name evaluation datasets (eval_dataset), not both")
    if not d.dataset and not d.eval_dataset:
        raise DataError("no dataset: set dataset (names from dataset_info.json)")
    kind = STAGE_KINDS[stage]
    if kind != "pretrain" and template is None:
        raise DataError(f"stage {stage} needs a chat template")
    eval_stage = "predict" if stage == "sft" and getattr(t, "predict_with_generate", False) else stage
    eval_kind = STAGE_KINDS[eval_stage]

    stats = DataStats(source="streaming" if d.streaming else "encoded")
    with t.main_process_first(desc="load and encode datasets", local=not d.data_shared_file_system):
        specs, train_parts = _load_group(d.dataset, cfg, stage, kind, stats, media_plugin)
        eval_specs, eval_parts = _load_group(d.eval_dataset, cfg, eval_stage, kind, stats, media_plugin)
        train = eval_ = None
        if train_parts and d.val_size > 0 and d.eval_on_each_dataset:
            pairs = [(name, split(ds, cfg)) for name, ds in train_parts]
            train = merge([tr for _, (tr, _) in pairs], cfg)
            eval_ = {name: ev for name, (_, ev) in pairs}
        elif train_parts:
            train = merge([ds for _, ds in train_parts], cfg)
            if d.val_size > 0:
                train, eval_ = split(train, cfg)
        if eval_parts:
            eval_ = (dict(eval_parts) if d.eval_on_each_dataset else merge([ds for _, ds in eval_parts], cfg))
        if d.streaming and train is not None and not d.val_size:
            train = train.shuffle(buffer_size=d.buffer_size, seed=t.seed)

        all_specs = specs + eval_specs
        splits = DataSplits(stats=stats)
        if train is not None:
            splits.train, s = encode(train, encode_settings(cfg, kind, all_specs, media_plugin), tokenizer, template, cfg, "train")
            _put(stats, "train", s)
        if isinstance(eval_, dict):
            splits.eval = {}
            for name, ds in eval_.items():
                splits.eval[name], s = encode(ds, encode_settings(cfg, eval_kind, all_specs, media_plugin), tokenizer,
                                              template, cfg, f"eval/{name}")
                _put(stats, f"eval/{name}", s)
        elif eval_ is not None:
            splits.eval, s = encode(eval_, encode_settings(cfg, eval_kind, all_specs, media_plugin), tokenizer, template, cfg,
                                    "eval")
            _put(stats, "eval", s)
        if d.tokenized_path and getattr(t, "should_save", True):
            _save_tokenized(splits, cfg)
    if stats.splits:
        logger.info("data:\n%s", stats.format())
    return splits


def _put(stats: DataStats, name: str, s: SplitStats | None) -> None:
    if s is not None:
        stats.splits[name] = s
