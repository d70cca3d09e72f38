"""dataset_info.json -> DatasetSpec: where a named dataset lives and how its columns map to a conversation.

The registry format is LLaMA-Factory's, read with its meanings and defaults:

- Source, first match wins: `hf_hub_url` / `ms_hub_url` (ModelScope when `USE_MODELSCOPE_HUB=1` or when it
  is the only hub URL), `script_url`, `file_name` (relative to `dataset_dir`).
- `formatting` alpaca (default) | sharegpt | openai; `ranking` (default false); `subset`, `split` (default
  "train"), `folder`, `num_samples`.
- `columns`: when absent, the format's defaults apply (alpaca: instruction/input/output; sharegpt:
  conversations; openai: messages). When present, only the columns it lists are read (so
  `{"prompt": "text"}` reads plain text with no input/output column), except the two a format cannot do
  without and LLaMA-Factory would crash on: `messages` (sharegpt/openai) and, for ranking datasets,
  `chosen`/`rejected`, which keep their defaults.
- `tags` (sharegpt/openai): role_tag, content_tag, user_tag, assistant_tag, observation_tag, function_tag,
  system_tag. Tags an entry leaves out keep the format's default (sharegpt: from/value/human/gpt/
  observation/function_call/system; openai: role/content/user/assistant/tool/function_call/system).
  LLaMA-Factory sets them to None instead, which only makes it reject rows that use them; rows it
  accepts are read the same way here.

Without dataset_info.json: `dataset_dir: ONLINE` makes every dataset name a hub id (ModelScope with
`USE_MODELSCOPE_HUB=1`), which `datasets.load_dataset` also resolves as a local folder; lmforge adds that
a name which is an existing local file is read as that file. `dataset_dir: REMOTE:<repo>` reads
dataset_info.json from that hub dataset repository. Any other missing dataset_info.json is an error
(as in LLaMA-Factory), whose message says how to register the file.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from lmforge.errors import DataError, did_you_mean

logger = logging.getLogger(__name__)

DATA_CONFIG = "dataset_info.json"
FORMATS = ("alpaca", "sharegpt", "openai")
SOURCES = ("hf_hub_url", "ms_hub_url", "script_url", "file_name")
# entry keys LLaMA-Factory knows but lmforge does not use (other hubs); accepted without a warning
_IGNORED_KEYS = {"om_hub_url", "cloud_file_name"}
_ENTRY_KEYS = set(SOURCES) | {"formatting", "ranking", "subset", "split", "folder", "num_samples",
                              "revision", "columns", "tags"}


@dataclass(frozen=True)
class Columns:
    prompt: str | None = None
    query: str | None = None
    response: str | None = None
    history: str | None = None
    messages: str | None = None
    system: str | None = None
    tools: str | None = None
    images: str | None = None
    videos: str | None = None
    audios: str | None = None
    chosen: str | None = None
    rejected: str | None = None
    kto_tag: str | None = None

    def mapped(self) -> dict[str, str]:
        """column role -> dataset column, for the columns in use."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


@dataclass(frozen=True)
class Tags:
    role_tag: str = "from"
    content_tag: str = "value"
    user_tag: str = "human"
    assistant_tag: str = "gpt"
    observation_tag: str = "observation"
    function_tag: str = "function_call"
    system_tag: str = "system"


DEFAULT_COLUMNS = {
    "alpaca": Columns(prompt="instruction", query="input", response="output"),
    "sharegpt": Columns(messages="conversations"),
    "openai": Columns(messages="messages"),
}
DEFAULT_TAGS = {
    "alpaca": Tags(),
    "sharegpt": Tags(),
    "openai": Tags(role_tag="role", content_tag="content", user_tag="user", assistant_tag="assistant",
                   observation_tag="tool", function_tag="function_call", system_tag="system"),
}


@dataclass(frozen=True)
class DatasetSpec:
    name: str  # the name the user typed
    load_from: str  # file | hf_hub | ms_hub | script
    path: str  # file or folder (absolute, for files), hub id, or script path
    formatting: str = "alpaca"
    ranking: bool = False
    subset: str | None = None
    split: str = "train"
    folder: str | None = None
    num_samples: int | None = None
    revision: str | None = None
    columns: Columns = field(default_factory=lambda: DEFAULT_COLUMNS["alpaca"])
    tags: Tags = field(default_factory=Tags)
    optional: tuple[str, ...] = ()  # column roles whose column may be absent from the data
    registry: str = ""  # where the entry came from, for error messages

    def describe(self) -> str:
        return f"dataset '{self.name}'" + (f" ({self.registry})" if self.registry else "")


def use_modelscope() -> bool:
    return os.environ.get("USE_MODELSCOPE_HUB", "0").strip().lower() in ("1", "true", "yes", "on")


def read_registry(dataset_dir: str, *, token: str | None = None) -> tuple[dict[str, Any], str]:
    """(dataset_info.json as a dict, its path). Raises DataError when it is missing or malformed."""
    if dataset_dir.startswith("REMOTE:"):
        path = _download_remote_registry(dataset_dir[len("REMOTE:"):], token)
    else:
        path = str(Path(dataset_dir) / DATA_CONFIG)
    if not Path(path).is_file():
        raise DataError(f"{path} not found: dataset names are looked up in dataset_info.json inside "
                        f"dataset_dir ('{dataset_dir}'). Set dataset_dir to the folder that holds it, or "
                        "dataset_dir: ONLINE to read dataset names as hub dataset ids")
    text = Path(path).read_text(encoding="utf-8")
    try:
        info = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    if not isinstance(info, dict):
        raise DataError(f"{path}: expected a JSON object mapping dataset names to entries, "
                        f"got a {type(info).__name__}")
    return info, path


def _download_remote_registry(repo: str, token: str | None) -> str:
    from huggingface_hub import hf_hub_download

    try:
        return hf_hub_download(repo_id=repo, filename=DATA_CONFIG, repo_type="dataset", token=token)
    except Exception as e:  # network, auth, missing file: all say the same thing to the user
        raise DataError(f"cannot download {DATA_CONFIG} from hub dataset '{repo}' "
                        f"(dataset_dir: REMOTE:{repo}): {e}") from None


def get_dataset_specs(names: list[str] | None, dataset_dir: str = "data", *,
                      token: str | None = None) -> list[DatasetSpec]:
    """The specs of the named datasets, in order."""
    names = [n.strip() for n in names or [] if n and n.strip()]
    if not names:
        return []
    if dataset_dir == "ONLINE":
        return [_online_spec(name) for name in names]
    info, path = read_registry(dataset_dir, token=token)
    base = str(Path(path).parent) if not dataset_dir.startswith("REMOTE:") else dataset_dir
    specs = []
    for name in names:
        if name not in info:
            registered = ", ".join(sorted(info)) or "(none)"
            raise DataError(f"dataset '{name}' is not registered in {path}{did_you_mean(name, info)}; "
                            f"registered datasets: {registered}")
        spec = parse_entry(name, info[name], base_dir=base, registry=path)
        for role in ("videos", "audios"):  # images: lmforge/media (a VL template; the loader checks)
            if getattr(spec.columns, role):
                raise media_error(spec, getattr(spec.columns, role), f"columns.{role}")
        specs.append(spec)
    return specs


MEDIA_ROLES = ("images", "videos", "audios")


def media_error(spec: DatasetSpec, column: str, mapped_as: str | None = None) -> DataError:
    """Videos / audios are refused until lmforge reads them, and so is a media column the registry does not
    map: the media would be dropped and the '<image>' placeholders trained as literal text (LLaMA-Factory
    trains so). Images, mapped as columns.images, go to a VL template's plugin (lmforge/media)."""
    how = f" (mapped as {mapped_as})" if mapped_as else ""
    if column == "images" and not mapped_as:
        return DataError(f"{spec.describe()}: the data has an 'images' column that dataset_info.json does not map; "
                         "map it (\"columns\": {\"images\": \"images\", ...}) to train a vision-language model "
                         "(template: qwen2_vl), or remove it and its <image> placeholders")
    return DataError(f"{spec.describe()}: column '{column}'{how} holds media, but video and audio inputs are not "
                     f"implemented in lmforge yet and the model would learn its placeholders as plain text; "
                     f"use a text-only dataset, or remove the '{column}' column and its placeholders")


def _online_spec(name: str) -> DatasetSpec:
    if Path(name).is_file():  # lmforge addition: a local file is read as that file
        return DatasetSpec(name=name, load_from="file", path=str(Path(name).resolve()), optional=("query",),
                           registry="ONLINE")
    load_from = "ms_hub" if use_modelscope() else "hf_hub"
    return DatasetSpec(name=name, load_from=load_from, path=name, optional=("query",), registry="ONLINE")


def parse_entry(name: str, entry: Any, *, base_dir: str = ".", registry: str = DATA_CONFIG) -> DatasetSpec:
    """One dataset_info.json entry -> DatasetSpec, validated. Errors name the registry file and the entry."""
    where = f"{registry}, entry '{name}'"
    if not isinstance(entry, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(entry).__name__} {entry!r}")
    unknown = [k for k in entry if k not in _ENTRY_KEYS | _IGNORED_KEYS]
    for key in unknown:
        logger.warning("%s: ignoring unknown key '%s'%s", where, key, did_you_mean(key, _ENTRY_KEYS))

    load_from, path = _source(entry, where, base_dir)
    formatting = _get(entry, "formatting", str, where, "alpaca")
    if formatting not in FORMATS:
        raise DataError(f"{where}: formatting '{formatting}' is not accepted; choose one of: "
                        f"{', '.join(FORMATS)}{did_you_mean(formatting, FORMATS)}")
    ranking = _get(entry, "ranking", bool, where, False)
    num_samples = _get(entry, "num_samples", int, where, None)
    if num_samples is not None and num_samples < 1:
        raise DataError(f"{where}: num_samples must be an integer >= 1, got {num_samples}")
    spec = DatasetSpec(
        name=name, load_from=load_from, path=path, formatting=formatting, ranking=ranking,
        subset=_get(entry, "subset", str, where, None), split=_get(entry, "split", str, where, "train"),
        folder=_get(entry, "folder", str, where, None), num_samples=num_samples,
        revision=_get(entry, "revision", str, where, None),
        columns=_columns(entry, formatting, ranking, where), tags=_tags(entry, formatting, where),
        # alpaca's default `input` column is optional: many alpaca files leave it out
        optional=("query",) if formatting == "alpaca" and "columns" not in entry else (),
        registry=registry,
    )
    return spec


def _source(entry: dict, where: str, base_dir: str) -> tuple[str, str]:
    for key in SOURCES:
        if key in entry and not isinstance(entry[key], str):
            raise DataError(f"{where}: '{key}' must be a string, got {entry[key]!r}")
    hf, ms = entry.get("hf_hub_url"), entry.get("ms_hub_url")
    if ms and (use_modelscope() or not hf):
        return "ms_hub", ms
    if hf:
        return "hf_hub", hf
    if entry.get("script_url"):
        local = Path(base_dir) / entry["script_url"]
        return "script", str(local) if local.exists() else entry["script_url"]
    if entry.get("file_name"):
        return "file", str((Path(base_dir) / entry["file_name"]).resolve())
    raise DataError(f"{where}: no data source; set one of {', '.join(SOURCES)}")


def _get(entry: dict, key: str, tp: type, where: str, default: Any) -> Any:
    value = entry.get(key, default)
    if value is None or isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
        return value
    raise DataError(f"{where}: '{key}' must be {_TYPE_WORDS[tp]}, got {value!r}")


_TYPE_WORDS = {str: "a string", bool: "true or false", int: "an integer", dict: "a JSON object"}


def _mapping(entry: dict, key: str, allowed: list[str], where: str) -> dict[str, str] | None:
    value = _get(entry, key, dict, where, None)
    if value is None:
        return None
    for k, v in value.items():
        if k not in allowed:
            raise DataError(f"{where}: unknown {key} key '{k}'{did_you_mean(k, allowed)}; "
                            f"accepted: {', '.join(allowed)}")
        if v is not None and not isinstance(v, str):
            raise DataError(f"{where}: {key}.{k} must be a string (a column or tag name), got {v!r}")
    return value


def _columns(entry: dict, formatting: str, ranking: bool, where: str) -> Columns:
    given = _mapping(entry, "columns", [f.name for f in fields(Columns)], where)
    defaults = DEFAULT_COLUMNS[formatting]
    columns = defaults if given is None else Columns(**given)
    if formatting != "alpaca" and not columns.messages:
        columns = replace(columns, messages=defaults.messages)
    if ranking:
        columns = replace(columns, chosen=columns.chosen or "chosen", rejected=columns.rejected or "rejected")
    return columns


def _tags(entry: dict, formatting: str, where: str) -> Tags:
    given = _mapping(entry, "tags", [f.name for f in fields(Tags)], where) or {}
    if given and formatting == "alpaca":
        logger.warning("%s: 'tags' apply to sharegpt and openai formatting only; ignored", where)
    return replace(DEFAULT_TAGS[formatting], **{k: v for k, v in given.items() if v})
