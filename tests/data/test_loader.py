import json
import logging
import os
from pathlib import Path

import pytest

from lmforge.data.encoding import IGNORE_INDEX
from lmforge.data.loader import load_datasets
from lmforge.errors import DataError

ALPACA_ROWS = [
    {"instruction": "Add 2 and 2.", "input": "", "output": "4"},
    {"instruction": "Translate to English.", "input": "bonjour", "output": "hello"},
    {"instruction": "Name a colour.", "input": "", "output": "Blue.", "history": [["Hi", "Hello!"]]},
    {"instruction": "Capital of France?", "input": "", "output": "Paris."},
]
SHAREGPT_ROWS = [
    {"conversations": [{"from": "human", "value": f"sharegpt question {i}"},
                       {"from": "gpt", "value": f"sharegpt answer {i}"}]} for i in range(6)
]
INFO = {"alp": {"file_name": "alp.json"},
        "sg": {"file_name": "sg.jsonl", "formatting": "sharegpt"}}


@pytest.fixture
def two_datasets(data_dir):
    return data_dir({"alp.json": ALPACA_ROWS, "sg.jsonl": SHAREGPT_ROWS}, INFO)


def texts(tok, ds, column="input_ids"):
    return [tok.decode(ex[column]) for ex in ds]


def test_concat_and_stats(two_datasets, make_cfg, qwen3_tok, qwen3_tpl):
    splits = load_datasets(make_cfg(dataset="alp,sg"), qwen3_tok, qwen3_tpl, "sft")
    train = splits.train
    assert train.column_names == ["input_ids", "attention_mask", "labels"]
    assert len(train) == 10 and splits.eval is None
    decoded = texts(qwen3_tok, train)
    assert "Add 2 and 2." in decoded[0] and "sharegpt question 5" in decoded[-1]  # concat keeps order
    stats = splits.stats
    assert (stats.datasets["alp"].rows_loaded, stats.datasets["alp"].rows_used) == (4, 4)
    assert (stats.datasets["sg"].rows_loaded, stats.datasets["sg"].rows_used) == (6, 6)
    s = stats.splits["train"]
    assert s.examples == 10
    assert s.tokens == sum(len(x) for x in train["input_ids"])
    assert s.loss_tokens == sum(1 for labels in train["labels"] for x in labels if x != IGNORE_INDEX)
    assert s.truncated == 0
    short = load_datasets(make_cfg(dataset="alp,sg", cutoff_len=20), qwen3_tok, qwen3_tpl, "sft")
    longer = sum(1 for x in train["input_ids"] if len(x) > 20)
    assert longer >= 5 and short.stats.splits["train"].truncated == longer
    assert max(len(x) for x in short.train["input_ids"]) == 20


def test_interleave_strategies(two_datasets, make_cfg, qwen3_tok, qwen3_tpl):
    under = load_datasets(make_cfg(dataset="alp,sg", mix_strategy="interleave_under"), qwen3_tok, qwen3_tpl, "sft")
    # without probabilities: alternate, stop when the smaller dataset (4 rows) runs out
    decoded = texts(qwen3_tok, under.train)
    assert len(decoded) == 8 and ["sharegpt" in t for t in decoded] == [False, True] * 4
    over = load_datasets(make_cfg(dataset="alp,sg", mix_strategy="interleave_over"), qwen3_tok, qwen3_tpl, "sft")
    assert len(over.train) == 12  # alternate until the larger one (6 rows) is used up; the small one repeats
    probs = load_datasets(make_cfg(dataset="alp,sg", mix_strategy="interleave_over", interleave_probs="0.2,0.8"),
                          qwen3_tok, qwen3_tpl, "sft")
    decoded = texts(qwen3_tok, probs.train)
    assert {t for t in decoded if "sharegpt" in t} == set(texts(qwen3_tok, load_datasets(
        make_cfg(dataset="sg"), qwen3_tok, qwen3_tpl, "sft").train))


def test_val_size_fraction_and_count(two_datasets, make_cfg, qwen3_tok, qwen3_tpl):
    all_rows = set(texts(qwen3_tok, load_datasets(make_cfg(dataset="alp,sg"), qwen3_tok, qwen3_tpl, "sft").train))
    a = load_datasets(make_cfg(dataset="alp,sg", val_size=0.2), qwen3_tok, qwen3_tpl, "sft")
    train, held = set(texts(qwen3_tok, a.train)), set(texts(qwen3_tok, a.eval))
    assert (len(train), len(held)) == (8, 2) and train | held == all_rows and not train & held
    assert a.stats.splits["eval"].examples == 2
    again = load_datasets(make_cfg(dataset="alp,sg", val_size=0.2), qwen3_tok, qwen3_tpl, "sft")
    assert set(texts(qwen3_tok, again.eval)) == held  # seeded
    other = load_datasets(make_cfg(dataset="alp,sg", val_size=3, seed=7), qwen3_tok, qwen3_tpl, "sft")
    assert len(other.eval) == 3 and len(other.train) == 7
    with pytest.raises(DataError, match="val_size=10"):
        load_datasets(make_cfg(dataset="alp,sg", val_size=10), qwen3_tok, qwen3_tpl, "sft")


def test_eval_dataset_and_eval_on_each_dataset(two_datasets, make_cfg, qwen3_tok, qwen3_tpl):
    s = load_datasets(make_cfg(dataset="alp", eval_dataset="sg"), qwen3_tok, qwen3_tpl, "sft")
    assert len(s.train) == 4 and len(s.eval) == 6
    each = load_datasets(make_cfg(dataset="alp", eval_dataset="alp,sg", eval_on_each_dataset=True),
                         qwen3_tok, qwen3_tpl, "sft")
    assert set(each.eval) == {"alp", "sg"} and len(each.eval["sg"]) == 6
    assert set(each.stats.splits) == {"train", "eval/alp", "eval/sg"}
    split_each = load_datasets(make_cfg(dataset="alp,sg", val_size=2, eval_on_each_dataset=True),
                               qwen3_tok, qwen3_tpl, "sft")
    assert {k: len(v) for k, v in split_each.eval.items()} == {"alp": 2, "sg": 2} and len(split_each.train) == 6
    with pytest.raises(DataError, match="both set"):
        load_datasets(make_cfg(dataset="alp", eval_dataset="sg", val_size=0.1), qwen3_tok, qwen3_tpl, "sft")


def test_predict_with_generate_encodes_eval_prompts_only(two_datasets, make_cfg, qwen3_tok, qwen3_tpl):
    s = load_datasets(make_cfg(dataset="alp", eval_dataset="sg", predict_with_generate=True), qwen3_tok,
                      qwen3_tpl, "sft")
    example = s.eval[0]
    assert qwen3_tok.decode(example["input_ids"]).endswith("<|im_start|>assistant\n")
    assert "sharegpt answer 0" in qwen3_tok.decode(example["labels"])


def test_num_samples_and_max_samples(data_dir, make_cfg, qwen3_tok, qwen3_tpl):
    data_dir({"sg.jsonl": SHAREGPT_ROWS}, {"up": {"file_name": "sg.jsonl", "formatting": "sharegpt", "num_samples": 9},
                                           "down": {"file_name": "sg.jsonl", "formatting": "sharegpt",
                                                    "num_samples": 2}})
    up = load_datasets(make_cfg(dataset="up"), qwen3_tok, qwen3_tpl, "sft")
    decoded = texts(qwen3_tok, up.train)
    assert len(decoded) == 9 and all(any(f"question {i}" in t for t in decoded) for i in range(6))
    down = load_datasets(make_cfg(dataset="down"), qwen3_tok, qwen3_tpl, "sft")
    assert len(down.train) == 2 and len(set(texts(qwen3_tok, down.train))) == 2
    assert len(load_datasets(make_cfg(dataset="up", max_samples=3), qwen3_tok, qwen3_tpl, "sft").train) == 3


BROKEN = [
    SHAREGPT_ROWS[0],
    {"conversations": [{"from": "gpt", "value": "I speak first"}, {"from": "human", "value": "no"}]},
    SHAREGPT_ROWS[1],
    {"conversations": [{"from": "human", "value": "a"}, {"from": "human", "value": "b"}]},
    {"conversations": [{"from": "human", "value": "call"}, {"from": "function_call", "value": "{oops"}]},
    SHAREGPT_ROWS[2],
]


def test_invalid_rows_are_counted_reported_and_skipped(data_dir, make_cfg, qwen3_tok, qwen3_tpl, caplog):
    data_dir({"b.jsonl": BROKEN}, {"b": {"file_name": "b.jsonl", "formatting": "sharegpt"}})
    with caplog.at_level(logging.WARNING, logger="lmforge"):
        s = load_datasets(make_cfg(dataset="b"), qwen3_tok, qwen3_tpl, "sft")
    assert len(s.train) == 3
    st = s.stats.datasets["b"]
    assert (st.rows_loaded, st.rows_used) == (6, 3)
    assert st.skipped["role order"].count == 2 and st.skipped["role order"].rows == [1, 3]
    assert st.skipped["bad function_call"].rows == [4]
    assert "message 0 is 'gpt'" in st.skipped["role order"].first
    assert "skipping 3 of 6 rows" in caplog.text and "rows 1, 3" in caplog.text


def test_strict_mode_raises_with_row_numbers(data_dir, make_cfg, qwen3_tok, qwen3_tpl, monkeypatch):
    data_dir({"b.jsonl": BROKEN}, {"b": {"file_name": "b.jsonl", "formatting": "sharegpt"}})
    monkeypatch.setenv("LMFORGE_STRICT_DATA", "1")
    with pytest.raises(DataError) as e:
        load_datasets(make_cfg(dataset="b"), qwen3_tok, qwen3_tpl, "sft")
    assert "role order (rows 1, 3" in str(e.value) and "LMFORGE_STRICT_DATA=1" in str(e.value)


def test_empty_after_filtering_is_an_error(data_dir, make_cfg, qwen3_tok, qwen3_tpl):
    data_dir({"b.jsonl": [BROKEN[1], BROKEN[3]]}, {"b": {"file_name": "b.jsonl", "formatting": "sharegpt"}})
    with pytest.raises(DataError, match=r"dataset 'b'.*no usable rows \(2 role order\)"):
        load_datasets(make_cfg(dataset="b"), qwen3_tok, qwen3_tpl, "sft")


def test_user_errors_name_what_to_fix(data_dir, make_cfg, qwen3_tok, qwen3_tpl):
    data_dir({"alp.json": ALPACA_ROWS}, {"alp": {"file_name": "alp.json"},
                                         "cols": {"file_name": "alp.json", "columns": {"prompt": "question"}}})
    with pytest.raises(DataError) as e:
        load_datasets(make_cfg(dataset="cols"), qwen3_tok, qwen3_tpl, "sft")
    assert "dataset 'cols'" in str(e.value) and "'question'" in str(e.value)
    assert "instruction, input, output" in str(e.value)
    with pytest.raises(DataError, match="registered datasets: alp, cols"):
        load_datasets(make_cfg(dataset="nope"), qwen3_tok, qwen3_tpl, "sft")
    with pytest.raises(DataError, match="needs a ranking dataset"):
        load_datasets(make_cfg(dataset="alp"), qwen3_tok, qwen3_tpl, "dpo")


def _cache_state(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*.arrow")}


def test_second_load_reuses_the_cache_and_overwrite_cache_redoes_it(two_datasets, make_cfg, qwen3_tok, qwen3_tpl,
                                                                    tmp_path):
    cfg = make_cfg(dataset="alp,sg", val_size=2)
    first = load_datasets(cfg, qwen3_tok, qwen3_tpl, "sft")
    assert first.stats.splits["train"].from_cache is False
    state = _cache_state(tmp_path / "hf_cache")
    assert any("cache-" in p for p in state)
    second = load_datasets(make_cfg(dataset="alp,sg", val_size=2), qwen3_tok, qwen3_tpl, "sft")
    assert second.stats.splits["train"].from_cache and second.stats.splits["eval"].from_cache
    # nothing was converted or tokenized again: no new cache file, the encoded files untouched (datasets
    # rewrites the small indices file of train_test_split each time, which is not tokenization)
    now = _cache_state(tmp_path / "hf_cache")
    assert set(now) == set(state)
    encoded = [f["filename"] for ds in (first.train, first.eval) for f in ds.cache_files]
    assert {f: now[f] for f in encoded} == {f: state[f] for f in encoded}
    assert second.train["input_ids"] == first.train["input_ids"]
    # a setting that changes the encoding is a different cache entry
    changed = load_datasets(make_cfg(dataset="alp,sg", val_size=2, cutoff_len=16), qwen3_tok, qwen3_tpl, "sft")
    assert changed.stats.splits["train"].from_cache is False
    before = _cache_state(tmp_path / "hf_cache")
    redo = load_datasets(make_cfg(dataset="alp,sg", val_size=2, overwrite_cache=True), qwen3_tok, qwen3_tpl, "sft")
    assert redo.stats.splits["train"].from_cache is False
    after = _cache_state(tmp_path / "hf_cache")
    assert any(after[p] != before.get(p) for p in after)  # files were written again
    assert redo.train["input_ids"] == first.train["input_ids"]


def test_tokenized_path_saves_then_loads(two_datasets, make_cfg, qwen3_tok, qwen3_tpl, tmp_path, caplog):
    path = str(tmp_path / "tokenized")
    with caplog.at_level(logging.WARNING, logger="lmforge"):
        saved = load_datasets(make_cfg(dataset="alp,sg", val_size=2, tokenized_path=path), qwen3_tok, qwen3_tpl,
                              "sft")
    assert "saved the tokenized dataset" in caplog.text
    for f in (tmp_path / "data").iterdir():
        os.remove(f)  # the data is no longer needed
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lmforge"):
        loaded = load_datasets(make_cfg(dataset="alp,sg", tokenized_path=path), qwen3_tok, qwen3_tpl, "sft")
    assert "loaded the tokenized dataset" in caplog.text
    assert loaded.stats.source == "tokenized_path"
    assert loaded.train["input_ids"] == saved.train["input_ids"]
    assert loaded.eval["labels"] == saved.eval["labels"]
    assert loaded.stats.splits["train"].tokens == saved.stats.splits["train"].tokens


def test_streaming(two_datasets, make_cfg, qwen3_tok, qwen3_tpl):
    from datasets import IterableDataset

    s = load_datasets(make_cfg(dataset="alp,sg", streaming=True, max_steps=10), qwen3_tok, qwen3_tpl, "sft")
    assert isinstance(s.train, IterableDataset) and s.stats.source == "streaming"
    rows = list(s.train)
    assert len(rows) == 10 and set(rows[0]) == {"input_ids", "attention_mask", "labels"}
    expected = set(texts(qwen3_tok, load_datasets(make_cfg(dataset="alp,sg"), qwen3_tok, qwen3_tpl, "sft").train))
    assert set(texts(qwen3_tok, rows)) == expected


def test_two_workers_give_the_same_result(two_datasets, make_cfg, qwen3_tok, qwen3_tpl):
    one = load_datasets(make_cfg(dataset="alp,sg"), qwen3_tok, qwen3_tpl, "sft")
    two = load_datasets(make_cfg(dataset="alp,sg", preprocessing_num_workers=2, preprocessing_batch_size=2,
                                 overwrite_cache=True), qwen3_tok, qwen3_tpl, "sft")
    assert two.train["input_ids"] == one.train["input_ids"] and two.train["labels"] == one.train["labels"]


def test_pretraining_packs_blocks(data_dir, make_cfg, qwen3_tok):
    docs = [{"text": f"Document number {i} talks about the number {i}."} for i in range(8)]
    data_dir({"c4.jsonl": docs}, {"c4": {"file_name": "c4.jsonl", "columns": {"prompt": "text"}}})
    s = load_datasets(make_cfg(dataset="c4", stage="pt", cutoff_len=16), qwen3_tok, None, "pt")
    flat = [t for d in docs for t in qwen3_tok(d["text"])["input_ids"] + [qwen3_tok.eos_token_id]]
    assert s.train["input_ids"] == [flat[i:i + 16] for i in range(0, len(flat) // 16 * 16, 16)]
    assert s.train["labels"] == s.train["input_ids"]
    unpacked = load_datasets(make_cfg(dataset="c4", stage="pt", cutoff_len=16, packing=False), qwen3_tok, None, "pt")
    assert len(unpacked.train) == 8 and unpacked.train[0]["input_ids"][-1] == qwen3_tok.eos_token_id
    with pytest.raises(DataError, match="fewer tokens than one block"):
        load_datasets(make_cfg(dataset="c4", stage="pt", cutoff_len=4096), qwen3_tok, None, "pt")


def test_pretraining_blocks_span_map_batches_and_workers(data_dir, make_cfg, qwen3_tok, caplog):
    """Blocks are cut from the whole dataset's token stream: neither a map batch (3 rows) nor a worker's shard
    (2 workers) holds one block of 64 here, yet the dataset holds several; only the last partial block goes."""
    docs = [{"text": f"Document number {i} talks about the number {i}."} for i in range(24)]
    data_dir({"c4.jsonl": docs}, {"c4": {"file_name": "c4.jsonl", "columns": {"prompt": "text"}}})
    flat = [t for d in docs for t in qwen3_tok(d["text"])["input_ids"] + [qwen3_tok.eos_token_id]]
    assert len(flat) >= 3 * 64 and all(len(qwen3_tok(d["text"])["input_ids"]) * 3 < 64 for d in docs)
    with caplog.at_level(logging.INFO, logger="lmforge.data.loader"):
        s = load_datasets(make_cfg(dataset="c4", stage="pt", cutoff_len=64, preprocessing_num_workers=2,
                                   preprocessing_batch_size=3, overwrite_cache=True), qwen3_tok, None, "pt")
    assert s.train["input_ids"] == [flat[i:i + 64] for i in range(0, len(flat) // 64 * 64, 64)]
    dropped = len(flat) % 64
    assert s.stats.splits["train"].dropped_tokens == dropped and dropped > 0
    assert f"the final partial block ({dropped} tokens) is dropped" in caplog.text
    assert f"{dropped} tokens of the final partial block dropped" in s.stats.format()


def test_streamed_pretraining_blocks_span_map_batches(data_dir, make_cfg, qwen3_tok):
    docs = [{"text": f"Document number {i} talks about the number {i}."} for i in range(24)]
    data_dir({"c4.jsonl": docs}, {"c4": {"file_name": "c4.jsonl", "columns": {"prompt": "text"}}})
    total = sum(len(qwen3_tok(d["text"])["input_ids"]) + 1 for d in docs)
    s = load_datasets(make_cfg(dataset="c4", stage="pt", cutoff_len=64, streaming=True, preprocessing_batch_size=3,
                               max_steps=10), qwen3_tok, None, "pt")
    for _ in range(2):  # a second pass (epoch) starts afresh: same number of blocks
        blocks = [row["input_ids"] for row in s.train]
        assert len(blocks) == total // 64 and all(len(b) == 64 for b in blocks)


def test_shipped_c4_demo_fills_llamafactorys_pretraining_example(make_cfg, qwen3_tok):
    """LLaMA-Factory's pt example (cutoff_len 2048, batch 1 x accumulation 8) gets several
    optimizer steps per epoch out of data/c4_demo.jsonl."""
    data = Path(__file__).resolve().parents[2] / "data"
    s = load_datasets(make_cfg(dataset="c4_demo", dataset_dir=str(data), stage="pt", cutoff_len=2048,
                               preprocessing_num_workers=2, overwrite_cache=True), qwen3_tok, None, "pt")
    assert len(s.train) >= 3 * 8 and all(len(ids) == 2048 for ids in s.train["input_ids"])


def test_preference_and_kto_stages(data_dir, make_cfg, qwen3_tok, qwen3_tpl):
    dpo = [{"conversations": [{"from": "human", "value": f"Q{i}"}], "chosen": {"from": "gpt", "value": f"good {i}"},
            "rejected": {"from": "gpt", "value": f"bad {i}"}} for i in range(3)]
    dpo.append({"conversations": [{"from": "human", "value": "Q"}], "chosen": {"from": "gpt", "value": "good"},
                "rejected": {"from": "gpt", "value": ""}})
    kto = [{"messages": [{"role": "user", "content": f"Q{i}"}, {"role": "assistant", "content": f"A{i}"}],
            "label": i % 2 == 0} for i in range(3)]
    data_dir({"dpo.json": dpo, "kto.json": kto}, {
        "dpo": {"file_name": "dpo.json", "formatting": "sharegpt", "ranking": True,
                "columns": {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"}},
        "kto": {"file_name": "kto.json", "formatting": "sharegpt", "columns": {"messages": "messages", "kto_tag": "label"},
                "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}}})
    s = load_datasets(make_cfg(dataset="dpo", stage="dpo"), qwen3_tok, qwen3_tpl, "dpo")
    assert len(s.train) == 3 and s.stats.datasets["dpo"].skipped["empty chosen/rejected"].rows == [3]
    assert set(s.train.column_names) == {f"{side}_{c}" for side in ("chosen", "rejected")
                                         for c in ("input_ids", "attention_mask", "labels")}
    k = load_datasets(make_cfg(dataset="kto", stage="kto"), qwen3_tok, qwen3_tpl, "kto")
    assert k.train["kto_tags"] == [True, False, True]
    assert "A1" in qwen3_tok.decode(k.train[0]["kl_input_ids"])  # row 0's prompt with row 1's reply


def test_media_columns_need_a_vision_language_template(data_dir, make_cfg, qwen3_tok, qwen3_tpl):
    """A text-only template would drop the images and train '<image>' as text: refused, naming dataset and
    column. (Image rows through the qwen2_vl plugin: tests/media/test_media_data.py.)"""
    rows = [{"messages": [{"role": "user", "content": "<image>What is this?"},
                          {"role": "assistant", "content": "A cat."}], "images": ["cat.png"]}]
    tags = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}
    root = data_dir({"mm.json": rows}, {
        "mm": {"file_name": "mm.json", "formatting": "sharegpt", "tags": tags,
               "columns": {"messages": "messages", "images": "images"}},  # LLaMA-Factory's mllm_demo entry
        "unmapped": {"file_name": "mm.json", "formatting": "sharegpt", "tags": tags,
                     "columns": {"messages": "messages"}},  # the rows carry images all the same
        "videos": {"file_name": "mm.json", "formatting": "sharegpt", "tags": tags,
                   "columns": {"messages": "messages", "videos": "clips"}}})
    with pytest.raises(DataError, match=r"dataset 'mm' .*column 'images' \(columns.images\) holds images, but "
                                        r"template .* is text-only"):
        load_datasets(make_cfg(dataset="mm"), qwen3_tok, qwen3_tpl, "sft")
    with pytest.raises(DataError, match=r"dataset 'unmapped' .*an 'images' column that dataset_info.json does "
                                        r"not map"):
        load_datasets(make_cfg(dataset="unmapped"), qwen3_tok, qwen3_tpl, "sft")
    with pytest.raises(DataError, match=r"dataset 'videos' .*column 'clips' \(mapped as columns.videos\) holds "
                                        r"media, but video and audio inputs are not implemented"):
        load_datasets(make_cfg(dataset="videos"), qwen3_tok, qwen3_tpl, "sft")
    (root / "text.json").write_text(json.dumps([{k: v for k, v in rows[0].items() if k != "images"}]))
    (root / "dataset_info.json").write_text(json.dumps({"text": {
        "file_name": "text.json", "formatting": "sharegpt", "tags": tags, "columns": {"messages": "messages"}}}))
    assert len(load_datasets(make_cfg(dataset="text"), qwen3_tok, qwen3_tpl, "sft").train) == 1


def test_online_dataset_dir_reads_a_local_file_by_path(data_dir, make_cfg, qwen3_tok, qwen3_tpl):
    root = data_dir({"rows.jsonl": ALPACA_ROWS}, {}, folder="elsewhere")
    s = load_datasets(make_cfg(dataset=str(root / "rows.jsonl"), dataset_dir="ONLINE"), qwen3_tok, qwen3_tpl, "sft")
    assert len(s.train) == 4
