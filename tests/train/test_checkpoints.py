"""Checkpoint folders are ordered by step, and a staged save is published with its marker file last."""

from lmforge.train.checkpoints import checkpoints_by_step, publish, rotate_checkpoints


def _make(run, *names):
    for name in names:
        (run / name).mkdir(parents=True)


def test_checkpoints_are_ordered_by_step_not_text(tmp_path):
    _make(tmp_path, "checkpoint-8", "checkpoint-26", "checkpoint-100", "checkpoint-9", "checkpoint-x",
          ".checkpoint-staging")
    (tmp_path / "checkpoint-3").write_text("a file, not a checkpoint")
    assert [p.name for p in checkpoints_by_step(tmp_path)] == ["checkpoint-8", "checkpoint-9", "checkpoint-26",
                                                                "checkpoint-100"]
    assert checkpoints_by_step(tmp_path / "missing") == []


def test_save_total_limit_keeps_the_newest_by_step_and_the_best(tmp_path):
    _make(tmp_path, "checkpoint-8", "checkpoint-26", "checkpoint-100", "checkpoint-9")
    rotate_checkpoints(tmp_path, 2, keep=str(tmp_path / "checkpoint-8"))
    assert [p.name for p in checkpoints_by_step(tmp_path)] == ["checkpoint-8", "checkpoint-100"]


def test_publish_replaces_an_older_model_marker_last(tmp_path):
    target, staging = tmp_path / "out", tmp_path / "out" / ".final-staging"
    _make(target, "checkpoint-2")
    (target / "adapter_config.json").write_text("old")
    (target / "tokenizer.json").write_text("old")
    staging.mkdir()
    for name in ("adapter_config.json", "adapter_model.safetensors", "tokenizer.json"):
        (staging / name).write_text("new")
    publish(staging, target)
    assert not staging.exists()
    assert {p.name for p in target.iterdir()} == {"checkpoint-2", "adapter_config.json", "adapter_model.safetensors",
                                                  "tokenizer.json"}
    assert all((target / n).read_text() == "new" for n in ("adapter_config.json", "tokenizer.json"))
