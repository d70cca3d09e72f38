import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lmforge.data.registry import DatasetSpec
from lmforge.data.sources import hub_load_kwargs, load_rows, locate_json_error, sample_indices
from lmforge.errors import DataError

ROWS = [{"instruction": f"q{i}", "output": f"a{i}"} for i in range(6)]


def _file_spec(path, **kw):
    return DatasetSpec(name="t", load_from="file", path=str(path), **kw)


def _load(path, tmp_path, **kw):
    return load_rows(_file_spec(path), cache_dir=str(tmp_path / "cache"), **kw).dataset


def test_every_local_file_type(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(ROWS))
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    (tmp_path / "a.csv").write_text("instruction,output\n" + "".join(f"q{i},a{i}\n" for i in range(6)))
    table = pa.Table.from_pylist(ROWS)
    pq.write_table(table, tmp_path / "a.parquet")
    with pa.OSFile(str(tmp_path / "a.arrow"), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    for ext in ("json", "jsonl", "csv", "parquet", "arrow"):
        ds = _load(tmp_path / f"a.{ext}", tmp_path)
        assert ds.to_list() == ROWS, ext
    (tmp_path / "a.txt").write_text("first line\nsecond line\n")
    assert _load(tmp_path / "a.txt", tmp_path)["text"] == ["first line", "second line"]


def test_folder_reads_all_files_in_sorted_order(tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "b.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS[3:]))
    (folder / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS[:3]))
    (folder / ".hidden").write_text("ignored")
    assert _load(folder, tmp_path).to_list() == ROWS


def test_folder_with_mixed_or_unknown_types_is_an_error(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a.jsonl").write_text(json.dumps(ROWS[0]) + "\n")
    (folder / "b.csv").write_text("instruction,output\nq,a\n")
    with pytest.raises(DataError, match="mixes file types"):
        _load(folder, tmp_path)
    (tmp_path / "x.xml").write_text("<a/>")
    with pytest.raises(DataError, match="unsupported file type"):
        _load(tmp_path / "x.xml", tmp_path)
    with pytest.raises(DataError, match="not found"):
        _load(tmp_path / "missing.json", tmp_path)


def test_malformed_jsonl_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"instruction": "a", "output": "b"}\n\n{"instruction": "c", "output": "d"}\n'
                    '{"instruction": "e", "output": "f",}\n')
    with pytest.raises(DataError) as e:
        _load(path, tmp_path)
    assert str(path) in str(e.value)
    assert "line 4, column 36" in str(e.value)  # datasets itself says "row 2"


def test_malformed_json_array_names_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('[\n  {"instruction": "a", "output": "b"},\n  {"instruction": "c" "output": "d"}\n]\n')
    with pytest.raises(DataError) as e:
        _load(path, tmp_path)
    assert str(path) in str(e.value) and "line 3, column 23" in str(e.value)
    assert locate_json_error(str(path)) == "line 3, column 23: Expecting ',' delimiter"


def test_sample_indices_subsample_and_oversample():
    sub = sample_indices(10, 4, seed=1)
    assert len(sub) == 4 and len(set(sub.tolist())) == 4
    assert sub.tolist() == sample_indices(10, 4, seed=1).tolist()  # seeded
    assert sub.tolist() != sample_indices(10, 4, seed=2).tolist()
    over = sample_indices(5, 12, seed=0)
    assert len(over) == 12 and set(over[:5].tolist()) == set(range(5))  # every row once, then extra draws
    assert np.all((over >= 0) & (over < 5))


def test_num_samples_and_max_samples(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    rows = load_rows(_file_spec(path, num_samples=4), cache_dir=str(tmp_path / "c"), seed=3)
    assert len(rows.dataset) == 4
    # the reported source row of each position is the row it came from
    for position, row in enumerate(rows.dataset):
        assert row["instruction"] == f"q{rows.source_row(position)}"
    rows = load_rows(_file_spec(path, num_samples=9), cache_dir=str(tmp_path / "c"), seed=3, max_samples=7)
    assert len(rows.dataset) == 7
    rows = load_rows(_file_spec(path), cache_dir=str(tmp_path / "c"), max_samples=2)
    assert rows.dataset["instruction"] == ["q0", "q1"] and rows.source_row(1) == 1


def test_streaming_a_local_file_iterates_rows(tmp_path):
    from datasets import IterableDataset

    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    ds = load_rows(_file_spec(path), cache_dir=str(tmp_path / "c"), streaming=True, max_samples=4).dataset
    assert isinstance(ds, IterableDataset)
    assert [r["instruction"] for r in ds] == ["q0", "q1", "q2", "q3"]


def test_hub_arguments(tmp_path):
    spec = DatasetSpec(name="h", load_from="hf_hub", path="org/ds", subset="en", split="validation",
                       folder="data/en", revision="v1")
    kwargs = hub_load_kwargs(spec, cache_dir="/c", token="tok", streaming=False, num_proc=4)
    assert kwargs == dict(path="org/ds", name="en", data_dir="data/en", split="validation", cache_dir="/c",
                          token="tok", streaming=False, revision="v1", num_proc=4)
    assert "num_proc" not in hub_load_kwargs(spec, cache_dir=None, token=None, streaming=True, num_proc=4)


def _hub_like_repo(root):
    """A folder laid out like a hub dataset repo: configs in README.md, one folder per subset and splits."""
    for lang in ("en", "zh"):
        (root / lang).mkdir(parents=True)
        for split in ("train", "test"):
            (root / lang / f"{split}.jsonl").write_text(
                "".join(json.dumps({"instruction": f"{lang}-{split}-{i}", "output": "o"}) + "\n" for i in range(3)))
    (root / "README.md").write_text("---\nconfigs:\n- config_name: en\n  data_dir: en\n"
                                    "- config_name: zh\n  data_dir: zh\n---\n")


def test_hub_path_subset_split_and_folder_reach_load_dataset(tmp_path):
    # datasets.load_dataset resolves a local folder the way it resolves a hub repo; no network here
    repo = tmp_path / "repo"
    _hub_like_repo(repo)
    spec = DatasetSpec(name="h", load_from="hf_hub", path=str(repo), subset="zh", split="test")
    ds = load_rows(spec, cache_dir=str(tmp_path / "c")).dataset
    assert ds["instruction"] == ["zh-test-0", "zh-test-1", "zh-test-2"]
    plain = tmp_path / "plain"
    _hub_like_repo(plain)
    (plain / "README.md").unlink()
    spec = DatasetSpec(name="h", load_from="hf_hub", path=str(plain), folder="en", split="train")
    assert load_rows(spec, cache_dir=str(tmp_path / "c")).dataset["instruction"][0] == "en-train-0"
    spec = DatasetSpec(name="h", load_from="hf_hub", path=str(tmp_path / "absent"))
    with pytest.raises(DataError, match="cannot load"):
        load_rows(spec, cache_dir=str(tmp_path / "c"))


def test_script_datasets_are_refused_with_advice(tmp_path):
    folder = tmp_path / "myscript"
    folder.mkdir()
    (folder / "myscript.py").write_text("import datasets\n")
    spec = DatasetSpec(name="s", load_from="script", path=str(folder))
    with pytest.raises(DataError, match="loading script"):
        load_rows(spec, cache_dir=str(tmp_path / "c"))


def test_modelscope_missing_says_how_to_install(tmp_path):
    try:
        import modelscope  # noqa: F401
        pytest.skip("modelscope is installed")
    except ImportError:
        pass
    spec = DatasetSpec(name="m", load_from="ms_hub", path="ms/ds")
    with pytest.raises(DataError, match="pip install 'modelscope"):
        load_rows(spec)
