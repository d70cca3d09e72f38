"""The dataset registry and demo datasets shipped in data/.

LLaMA-Factory users point `dataset_dir` at a folder like this one and type the dataset names they know, so the
registry must use exactly LLaMA-Factory's keys and values, and every local file must have the columns and role
order its entry promises. The demo data is also checked for content: computed arithmetic is right, preference
pairs really differ, tool calls name a tool the row offers and pass its required arguments.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"

SOURCE_KINDS = {"local": {"file_name"}, "hub": {"hf_hub_url", "ms_hub_url"}, "script": {"script_url"}}
SOURCE_KEYS = set().union(*SOURCE_KINDS.values())
ENTRY_KEYS = SOURCE_KEYS | {"formatting", "ranking", "subset", "split", "folder", "num_samples", "columns", "tags"}
COLUMN_KEYS = {"prompt", "query", "response", "history", "messages", "system", "tools", "images", "videos", "audios",
               "chosen", "rejected", "kto_tag"}
TAG_KEYS = {"role_tag", "content_tag", "user_tag", "assistant_tag", "observation_tag", "function_tag", "system_tag"}
FORMATTINGS = {"alpaca", "sharegpt", "openai"}
ALPACA_ONLY = {"prompt", "query", "response", "history"}
# what LLaMA-Factory assumes when an entry gives no `columns` / no `tags`
DEFAULT_COLUMNS = {"alpaca": {"prompt": "instruction", "query": "input", "response": "output"},
                   "sharegpt": {"messages": "conversations"}, "openai": {"messages": "messages"}}
DEFAULT_TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
                "observation_tag": "observation", "function_tag": "function_call", "system_tag": "system"}

DEMOS = {  # name users type -> minimum rows we promise
    "identity": 90, "alpaca_en_demo": 120, "alpaca_zh_demo": 120, "glaive_toolcall_en_demo": 100,
    "glaive_toolcall_zh_demo": 100, "dpo_en_demo": 100, "dpo_zh_demo": 100, "kto_en_demo": 100,
    "c4_demo": 200, "wiki_demo": 200,
}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _no_duplicate_keys(pairs: list[tuple]) -> dict:
    keys = [k for k, _ in pairs]
    dupes = [k for k, n in Counter(keys).items() if n > 1]
    assert not dupes, f"duplicate keys in dataset_info.json: {dupes}"
    return dict(pairs)


REGISTRY: dict[str, dict] = json.loads((DATA / "dataset_info.json").read_text(encoding="utf-8"),
                                       object_pairs_hook=_no_duplicate_keys)
LOCAL = sorted(name for name, entry in REGISTRY.items() if "file_name" in entry)


@cache
def rows_of(name: str) -> list[dict]:
    """A local dataset's rows, read the way the loader reads the file's type (a .txt line is a `text` row)."""
    path = DATA / REGISTRY[name]["file_name"]
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if path.suffix == ".txt":
        return [{"text": line} for line in text.splitlines() if line.strip()]
    raise AssertionError(f"{name}: unexpected file type {path.suffix}")


def formatting(entry: dict) -> str:
    return entry.get("formatting", "alpaca")


def columns(entry: dict) -> dict[str, str]:
    return entry.get("columns", DEFAULT_COLUMNS[formatting(entry)])


def tags(entry: dict) -> dict[str, str]:
    return entry.get("tags", DEFAULT_TAGS)


# ---------------------------------------------------------------------------------------------------------------
# the registry


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_entry_uses_only_llamafactory_keys_and_values(name):
    entry = REGISTRY[name]
    assert set(entry) <= ENTRY_KEYS, f"{name}: unknown keys {set(entry) - ENTRY_KEYS}"
    kinds = [kind for kind, keys in SOURCE_KINDS.items() if keys & set(entry)]
    assert len(kinds) == 1, f"{name}: needs exactly one source (file_name | hf/ms_hub_url | script_url), has {kinds}"
    assert formatting(entry) in FORMATTINGS
    assert isinstance(entry.get("ranking", False), bool)
    for key in ("file_name", "hf_hub_url", "ms_hub_url", "script_url", "subset", "split", "folder"):
        if key in entry:
            assert isinstance(entry[key], str) and entry[key].strip(), f"{name}.{key} must be a non-empty string"
    if "num_samples" in entry:
        assert isinstance(entry["num_samples"], int) and entry["num_samples"] > 0
    for hub_key in ("hf_hub_url", "ms_hub_url"):
        if hub_key in entry:
            assert re.fullmatch(r"[\w.-]+(/[\w.-]+)?", entry[hub_key]), f"{name}.{hub_key} is not a repo id"

    cols = entry.get("columns", {})
    assert set(cols) <= COLUMN_KEYS, f"{name}: unknown column keys {set(cols) - COLUMN_KEYS}"
    assert all(isinstance(v, str) and v for v in cols.values())
    tag_map = entry.get("tags", {})
    assert set(tag_map) <= TAG_KEYS, f"{name}: unknown tag keys {set(tag_map) - TAG_KEYS}"
    assert all(isinstance(v, str) and v for v in tag_map.values())


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_entry_columns_fit_its_formatting(name):
    entry = REGISTRY[name]
    cols, fmt = columns(entry), formatting(entry)
    if fmt == "alpaca":
        assert "tags" not in entry, f"{name}: tags only apply to sharegpt/openai data"
        assert "messages" not in cols and "prompt" in cols, f"{name}: alpaca data is addressed by `prompt`"
    else:
        # given `columns`, LLaMA-Factory leaves every unlisted column unset, so `messages` must be listed
        assert "messages" in cols, f"{name}: {fmt} data needs a `messages` column"
        assert not ALPACA_ONLY & set(cols), f"{name}: {sorted(ALPACA_ONLY & set(cols))} are alpaca-only columns"
    if fmt == "openai":  # the defaults are sharegpt's from/value/human/gpt, which openai data never uses
        assert {"role_tag", "content_tag", "user_tag", "assistant_tag"} <= set(entry.get("tags", {}))
    if entry.get("ranking"):
        assert {"chosen", "rejected"} <= set(cols), f"{name}: a ranking dataset maps chosen and rejected"
        assert "kto_tag" not in cols, f"{name}: a dataset is either ranking or kto, not both"
    else:
        assert not {"chosen", "rejected"} & set(cols), f"{name}: chosen/rejected need ranking: true"


def test_registry_lists_every_demo_and_many_hub_datasets():
    assert set(DEMOS) <= set(LOCAL)
    hub = [name for name, entry in REGISTRY.items() if SOURCE_KINDS["hub"] & set(entry)]
    assert len(hub) >= 60
    # every stage has hub data to grow into
    assert any(REGISTRY[n].get("ranking") for n in hub)
    assert any("kto_tag" in columns(REGISTRY[n]) for n in hub)
    assert any("tools" in columns(REGISTRY[n]) for n in hub)
    assert any(columns(REGISTRY[n]) == {"prompt": "text"} for n in hub)
    assert any("ms_hub_url" in REGISTRY[n] for n in hub)


def test_every_shipped_file_is_registered():
    shipped = {p.name for p in DATA.iterdir() if p.suffix in {".json", ".jsonl", ".txt"}} - {"dataset_info.json"}
    assert shipped == {REGISTRY[name]["file_name"] for name in LOCAL}


@pytest.mark.parametrize("readme", ["README.md", "README_zh.md"])
def test_readme_documents_every_key(readme):
    text = (DATA / readme).read_text(encoding="utf-8")
    for key in sorted(ENTRY_KEYS | COLUMN_KEYS | TAG_KEYS | FORMATTINGS):
        assert f"`{key}`" in text or f'`"{key}"`' in text, f"{readme} does not document `{key}`"


@pytest.mark.parametrize("readme", ["README.md", "README_zh.md"])
def test_readme_row_counts_match_the_files(readme):
    text = (DATA / readme).read_text(encoding="utf-8")
    for name in DEMOS:
        match = re.search(rf"^\| `{name}` \| {re.escape(REGISTRY[name]['file_name'])} \| [^|]+ \| (\d+) \|", text, re.M)
        assert match, f"{readme} has no table row for {name}"
        assert int(match.group(1)) == len(rows_of(name)), f"{readme}: {name} row count is stale"


# ---------------------------------------------------------------------------------------------------------------
# the local files


@pytest.mark.parametrize("name", LOCAL)
def test_local_file_has_the_rows_and_columns_its_entry_maps(name):
    rows = rows_of(name)
    assert len(rows) >= DEMOS.get(name, 1), f"{name}: only {len(rows)} rows"
    mapped = set(columns(REGISTRY[name]).values())
    for i, row in enumerate(rows):
        missing = mapped - set(row)
        assert not missing, f"{name} row {i} lacks columns {missing}"
        for col in mapped:
            value = row[col]
            assert value is not None and value != [] and (not isinstance(value, str) or value.strip() or col == "input"), \
                f"{name} row {i}: empty `{col}`"
    unique = {json.dumps(row, ensure_ascii=False, sort_keys=True) for row in rows}
    assert len(unique) == len(rows), f"{name} has duplicate rows"


def _messages(entry: dict, row: dict) -> tuple[list[dict], dict]:
    t = tags(entry)
    msgs = row[columns(entry)["messages"]]
    if msgs and t.get("system_tag") and msgs[0][t["role_tag"]] == t["system_tag"]:
        msgs = msgs[1:]
    return msgs, t


SHAREGPT_LOCAL = [n for n in LOCAL if formatting(REGISTRY[n]) != "alpaca"]


@pytest.mark.parametrize("name", SHAREGPT_LOCAL)
def test_role_order_is_what_llamafactory_accepts(name):
    """User side (user/observation) at even positions, assistant side (assistant/function call) at odd ones;
    a function call is answered by an observation; SFT/KTO rows end on the assistant side, ranking prompts on the
    user side."""
    entry = REGISTRY[name]
    for i, row in enumerate(rows_of(name)):
        msgs, t = _messages(entry, row)
        roles = [m[t["role_tag"]] for m in msgs]
        user_side = {t.get("user_tag"), t.get("observation_tag")} - {None}
        assistant_side = {t.get("assistant_tag"), t.get("function_tag")} - {None}
        assert roles and roles[0] == t["user_tag"], f"{name} row {i}: must start with the user"
        for k, role in enumerate(roles):
            assert role in (user_side if k % 2 == 0 else assistant_side), f"{name} row {i}: bad role order {roles}"
            if role == t.get("function_tag") and k + 1 < len(roles):
                assert roles[k + 1] == t["observation_tag"], f"{name} row {i}: call without observation"
            if role == t.get("observation_tag"):
                assert roles[k - 1] == t["function_tag"], f"{name} row {i}: observation without a call"
        assert all(isinstance(m[t["content_tag"]], str) and m[t["content_tag"]].strip() for m in msgs)
        if entry.get("ranking"):
            assert len(roles) % 2 == 1, f"{name} row {i}: a ranking prompt ends with the user"
            for side in ("chosen", "rejected"):
                reply = row[columns(entry)[side]]
                assert reply[t["role_tag"]] == t["assistant_tag"] and reply[t["content_tag"]].strip()
        else:
            assert len(roles) % 2 == 0 and roles[-1] == t["assistant_tag"], f"{name} row {i}: must end with a reply"


@pytest.mark.parametrize("name", [n for n in SHAREGPT_LOCAL if "tools" in columns(REGISTRY[n])])
def test_tool_rows_offer_tools_and_call_them_correctly(name):
    entry = REGISTRY[name]
    calls = multi = direct = 0
    for i, row in enumerate(rows_of(name)):
        tools = json.loads(row[columns(entry)["tools"]])
        assert isinstance(tools, list) and tools, f"{name} row {i}: tools must be a JSON list"
        schemas = {}
        for tool in tools:
            assert {"name", "description", "parameters"} <= set(tool)
            params = tool["parameters"]
            assert params["type"] == "object" and set(params.get("required", [])) <= set(params["properties"])
            schemas[tool["name"]] = params
        msgs, t = _messages(entry, row)
        n_calls = 0
        for m in msgs:
            if m[t["role_tag"]] == t["function_tag"]:
                call = json.loads(m[t["content_tag"]])
                assert set(call) == {"name", "arguments"} and isinstance(call["arguments"], dict)
                assert call["name"] in schemas, f"{name} row {i}: calls {call['name']}, which the row doesn't offer"
                params = schemas[call["name"]]
                assert set(params.get("required", [])) <= set(call["arguments"]) <= set(params["properties"])
                n_calls += 1
            elif m[t["role_tag"]] == t["observation_tag"]:
                json.loads(m[t["content_tag"]])
        calls += n_calls > 0
        multi += n_calls > 1
        direct += n_calls == 0
    assert calls and multi and direct, f"{name}: wants rows with one call, several calls and no call"


def test_identity_rows_use_the_placeholders():
    rows = rows_of("identity")
    assert all("{{name}}" in row["output"] for row in rows)
    assert sum("{{author}}" in row["output"] for row in rows) > len(rows) // 2
    assert any(CJK.search(row["instruction"]) for row in rows)
    assert any(not CJK.search(row["instruction"]) for row in rows)


@pytest.mark.parametrize("name", ["alpaca_zh_demo", "glaive_toolcall_zh_demo", "dpo_zh_demo"])
def test_chinese_demos_are_in_chinese(name):
    texts = [json.dumps(row, ensure_ascii=False) for row in rows_of(name)]
    assert sum(bool(CJK.search(t)) for t in texts) >= 0.9 * len(texts)


@pytest.mark.parametrize("name", ["dpo_en_demo", "dpo_zh_demo"])
def test_preference_pairs_differ(name):
    for row in rows_of(name):
        assert row["chosen"]["value"].strip() != row["rejected"]["value"].strip()


def test_kto_has_both_labels():
    labels = Counter(row["label"] for row in rows_of("kto_en_demo"))
    assert set(labels) == {True, False}
    assert min(labels.values()) >= 0.3 * sum(labels.values())


# "a op b = c" between plain integers, not inside a longer chain like "2 × 3 × 5" or a fraction like "9/5 + 32"
ARITHMETIC = re.compile(r"(?<![\d.,/])(?<![×+−-] )(\d+) ([+×−-]) (\d+) = (-?\d{1,3}(?:,\d{3})+|-?\d+)"
                        r"(?![\d⁰¹²³⁴⁵⁶⁷⁸⁹]|[.,]\d| [×+−-])")


def _good_texts() -> list[str]:
    """Every answer the demos present as correct (SFT outputs, tool-call replies, chosen and desirable replies)."""
    out = [row["output"] for name in ("alpaca_en_demo", "alpaca_zh_demo") for row in rows_of(name)]
    out += [m["value"] for name in ("glaive_toolcall_en_demo", "glaive_toolcall_zh_demo") for row in rows_of(name)
            for m in row["conversations"] if m["from"] == "gpt"]
    out += [row["chosen"]["value"] for name in ("dpo_en_demo", "dpo_zh_demo") for row in rows_of(name)]
    out += [row["messages"][-1]["content"] for row in rows_of("kto_en_demo") if row["label"]]
    return out


def test_arithmetic_in_good_answers_is_right():
    checked = 0
    for text in _good_texts():
        for a, op, b, c in ARITHMETIC.findall(text):
            a, b, c = int(a), int(b), int(c.replace(",", ""))
            expected = {"+": a + b, "×": a * b, "−": a - b, "-": a - b}[op]
            assert c == expected, f"{a} {op} {b} = {c} in: {text[:120]}"
            checked += 1
    assert checked >= 50  # the pattern really finds the computed answers (62 today)


def test_arithmetic_in_rejected_answers_is_caught_by_the_check():
    wrong = [row["rejected"]["value"] for row in rows_of("dpo_en_demo")]
    bad = [m for text in wrong for m in ARITHMETIC.findall(text)
           if int(m[3].replace(",", "")) != {"+": int(m[0]) + int(m[2]), "×": int(m[0]) * int(m[2]),
                                              "−": int(m[0]) - int(m[2]), "-": int(m[0]) - int(m[2])}[m[1]]]
    assert bad, "the rejected side should contain wrong sums the check above would flag"


def test_files_are_what_the_generator_writes(tmp_path):
    """The committed files are reproducible: rerunning scripts/make_demo_data.py gives the same bytes."""
    spec = importlib.util.spec_from_file_location("make_demo_data", REPO / "scripts" / "make_demo_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--out", str(tmp_path)])
    written = sorted(p.name for p in tmp_path.iterdir())
    made_elsewhere = {"mllm_demo"}  # data/mllm_demo_data/make.py (images too); checked in tests/media
    assert written == sorted(REGISTRY[name]["file_name"] for name in LOCAL if name not in made_elsewhere)
    for file_name in written:
        assert (tmp_path / file_name).read_bytes() == (DATA / file_name).read_bytes(), f"{file_name} is stale"
