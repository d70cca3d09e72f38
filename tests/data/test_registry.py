import json

import pytest

from lmforge.data.registry import Columns, Tags, get_dataset_specs, parse_entry
from lmforge.errors import DataError


def _specs(tmp_path, info, names):
    (tmp_path / "dataset_info.json").write_text(json.dumps(info))
    return get_dataset_specs(names, str(tmp_path))


def test_defaults_per_format(tmp_path):
    info = {"a": {"file_name": "a.json"},
            "s": {"file_name": "s.json", "formatting": "sharegpt"},
            "o": {"file_name": "o.json", "formatting": "openai"}}
    a, s, o = _specs(tmp_path, info, ["a", "s", "o"])
    assert a.load_from == "file" and a.path == str((tmp_path / "a.json").resolve())
    assert (a.formatting, a.ranking, a.split, a.subset, a.folder, a.num_samples) == ("alpaca", False, "train",
                                                                                    None, None, None)
    assert a.columns == Columns(prompt="instruction", query="input", response="output")
    assert s.columns == Columns(messages="conversations")
    assert s.tags == Tags("from", "value", "human", "gpt", "observation", "function_call", "system")
    assert o.columns == Columns(messages="messages")
    assert (o.tags.role_tag, o.tags.content_tag, o.tags.user_tag, o.tags.assistant_tag, o.tags.observation_tag,
            o.tags.system_tag) == ("role", "content", "user", "assistant", "tool", "system")


def test_columns_present_read_only_listed_ones(tmp_path):
    # LLaMA-Factory's c4_demo: {"prompt": "text"} -- no input/output column is expected
    (spec,) = _specs(tmp_path, {"c4": {"file_name": "c4.jsonl", "columns": {"prompt": "text"}}}, ["c4"])
    assert spec.columns.mapped() == {"prompt": "text"}
    assert spec.optional == ()


def test_partial_tags_keep_format_defaults_and_ranking_defaults(tmp_path):
    info = {"kto": {"file_name": "k.json", "formatting": "sharegpt",
                    "columns": {"messages": "messages", "kto_tag": "label"},
                    "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                             "assistant_tag": "assistant"}},
            "dpo": {"file_name": "d.json", "formatting": "sharegpt", "ranking": True,
                    "columns": {"messages": "conversations"}}}
    kto, dpo = _specs(tmp_path, info, ["kto", "dpo"])
    assert kto.tags == Tags("role", "content", "user", "assistant", "observation", "function_call", "system")
    assert kto.columns.kto_tag == "label"
    assert dpo.ranking and (dpo.columns.chosen, dpo.columns.rejected) == ("chosen", "rejected")


def test_hub_sources_and_modelscope_switch(tmp_path, monkeypatch):
    info = {"h": {"hf_hub_url": "org/ds", "subset": "en", "split": "test", "folder": "sub", "num_samples": 7},
            "both": {"hf_hub_url": "org/ds", "ms_hub_url": "ms/ds"},
            "ms": {"ms_hub_url": "ms/only"},
            "sc": {"script_url": "myscript"}}
    monkeypatch.delenv("USE_MODELSCOPE_HUB", raising=False)
    h, both, ms, sc = _specs(tmp_path, info, ["h", "both", "ms", "sc"])
    assert (h.load_from, h.path, h.subset, h.split, h.folder, h.num_samples) == ("hf_hub", "org/ds", "en", "test",
                                                                                "sub", 7)
    assert (both.load_from, both.path) == ("hf_hub", "org/ds")
    assert (ms.load_from, ms.path) == ("ms_hub", "ms/only")
    assert sc.load_from == "script"
    monkeypatch.setenv("USE_MODELSCOPE_HUB", "1")
    (both,) = _specs(tmp_path, info, ["both"])
    assert (both.load_from, both.path) == ("ms_hub", "ms/ds")


@pytest.mark.parametrize("entry, words", [
    ([1, 2], ["entry 'x'", "expected a JSON object"]),
    ({"formatting": "alpaca"}, ["entry 'x'", "no data source", "file_name"]),
    ({"file_name": "a.json", "formatting": "sharegtp"}, ["entry 'x'", "sharegtp", "did you mean 'sharegpt'"]),
    ({"file_name": "a.json", "columns": {"promt": "q"}}, ["entry 'x'", "promt", "did you mean 'prompt'"]),
    ({"file_name": "a.json", "tags": {"role": "r"}}, ["entry 'x'", "unknown tags key 'role'"]),
    ({"file_name": "a.json", "ranking": "yes"}, ["entry 'x'", "ranking", "true or false"]),
    ({"file_name": "a.json", "num_samples": 0}, ["entry 'x'", "num_samples"]),
    ({"file_name": 3}, ["entry 'x'", "file_name", "string"]),
])
def test_bad_entries_name_file_and_entry(tmp_path, entry, words):
    with pytest.raises(DataError) as e:
        _specs(tmp_path, {"x": entry}, ["x"])
    message = str(e.value)
    assert "dataset_info.json" in message
    for word in words:
        assert word in message


def test_invalid_json_registry_names_line(tmp_path):
    (tmp_path / "dataset_info.json").write_text('{\n  "a": {"file_name": "a.json"},\n  "b": {"file_name": }\n}\n')
    with pytest.raises(DataError, match=r"dataset_info.json: invalid JSON at line 3, column"):
        get_dataset_specs(["a"], str(tmp_path))


def test_unknown_dataset_lists_registered_names(tmp_path):
    info = {"alpaca_en_demo": {"file_name": "a.json"}, "identity": {"file_name": "i.json"}}
    with pytest.raises(DataError) as e:
        _specs(tmp_path, info, ["alpaca_en_dem"])
    assert "did you mean 'alpaca_en_demo'" in str(e.value)
    assert "registered datasets: alpaca_en_demo, identity" in str(e.value)


def test_missing_registry_is_an_error_that_says_what_to_do(tmp_path):
    with pytest.raises(DataError) as e:
        get_dataset_specs(["foo"], str(tmp_path / "nowhere"))
    assert "dataset_info.json not found" in str(e.value) and "ONLINE" in str(e.value)
    assert get_dataset_specs(None, str(tmp_path / "nowhere")) == []  # nothing asked, nothing read


def test_online_names_are_hub_ids_or_local_files(tmp_path, monkeypatch):
    monkeypatch.delenv("USE_MODELSCOPE_HUB", raising=False)
    local = tmp_path / "rows.jsonl"
    local.write_text('{"instruction": "a", "output": "b"}\n')
    hub, file = get_dataset_specs(["org/some_dataset", str(local)], "ONLINE")
    assert (hub.load_from, hub.path, hub.formatting) == ("hf_hub", "org/some_dataset", "alpaca")
    assert (file.load_from, file.path) == ("file", str(local.resolve()))
    monkeypatch.setenv("USE_MODELSCOPE_HUB", "1")
    (ms,) = get_dataset_specs(["org/some_dataset"], "ONLINE")
    assert ms.load_from == "ms_hub"


def test_parse_entry_resolves_files_against_base_dir(tmp_path):
    spec = parse_entry("n", {"file_name": "sub/x.jsonl"}, base_dir=str(tmp_path))
    assert spec.path == str((tmp_path / "sub" / "x.jsonl").resolve())
