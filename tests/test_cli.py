"""The real `lmforge` command in a subprocess, as a user runs it."""

import subprocess
import sys

import pytest
from e2e.helpers import lmforge as run_lmforge
from e2e.helpers import read_only_folder, write_alpaca_dataset

import lmforge
from lmforge.config import load_config, parse_argv
from lmforge.errors import ConfigError


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "lmforge.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_version_and_help():
    out = run("version")
    assert out.returncode == 0 and out.stdout.strip() == f"lmforge {lmforge.__version__}"
    out = run("help")
    assert out.returncode == 0 and "train" in out.stdout and "usage: lmforge" in out.stdout


def test_env_lists_core_versions_and_devices():
    out = run("env")
    assert out.returncode == 0
    for name in ("python", "torch", "transformers", "datasets", "accelerate", "peft", "devices"):
        assert f"- {name}" in out.stdout
    assert "cpu" in out.stdout


def test_train_help_groups_keys_with_choices():
    out = run("train", "--help")
    assert out.returncode == 0
    for title in ("Model:", "Data:", "Fine-tuning", "Generation:", "Training (transformers' TrainingArguments):"):
        assert title in out.stdout
    assert "stage  [default: 'sft']  {pt,sft,rm,ppo,dpo,kto,grpo}" in out.stdout
    assert "lora_rank  [default: 8]" in out.stdout


def test_user_errors_exit_nonzero_without_traceback():
    out = run("train", "--model_name_or_path=m", "--dataset=a", "--lora_rnak=8")
    assert out.returncode == 1
    assert "error: unknown key 'lora_rnak'; did you mean 'lora_rank'" in out.stderr
    assert "Traceback" not in out.stderr


def test_unknown_command_suggests():
    out = run("trian")
    assert out.returncode == 2
    assert "unknown command 'trian'; did you mean 'train'?" in out.stderr


def test_a_model_folder_that_is_not_there_is_named(tmp_path):
    """A local-only path that does not exist fails at once (no hub lookup); a relative name that is no folder
    here says it was tried as a hub id, and from which folder."""
    import os

    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    common = ["dataset=identity", f"output_dir={tmp_path / 'out'}", "template=phi"]

    def train(model):
        return subprocess.run([sys.executable, "-m", "lmforge.cli", "train", f"model_name_or_path={model}", *common],
                              capture_output=True, text=True, cwd=tmp_path, timeout=300, env=env)

    out = train("./models/missing")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert f"no such folder: ./models/missing (from {tmp_path})" in out.stderr
    out = train("~/models/missing")
    assert out.returncode == 1 and "'~' is not expanded" in out.stderr
    out = train("examples/tiny-phi3")  # the quickstart's model, but run from another folder
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert f"(no such folder in {tmp_path}, so it was looked up as a hub model id)" in out.stderr


# -- issue 15: every config or output_dir problem is one line, exit 1, before the model loads ----------------


def _train_tiny(tmp_path, tiny_model, *extra):
    """`lmforge train` on the tiny Qwen3 model and a real dataset, with `extra` keys; run from tmp_path."""
    data = write_alpaca_dataset(tmp_path / "data")
    return run_lmforge("train", f"model_name_or_path={tiny_model('qwen3')}", f"dataset_dir={data}", "dataset=tiny_sft",
                   "template=qwen3", "max_steps=1", "cutoff_len=32", "report_to=none", *extra, cwd=tmp_path)


def _one_error_line(out, expected: str, command: str = "train") -> None:
    """Failed with exit 1, no traceback, one error line holding `expected`, and before any data loaded."""
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith(f"lmforge {command}: error:")]
    assert len(errors) == 1 and expected in errors[0], out.stderr
    assert "rows loaded" not in out.stderr, "the error came after the data loaded"


def test_output_dir_that_is_a_file(tmp_path, tiny_model):
    (tmp_path / "out").write_text("a file, not a folder")
    out = _train_tiny(tmp_path, tiny_model, "output_dir=out")
    _one_error_line(out, "output_dir: 'out' is a file, not a folder")
    assert (tmp_path / "out").read_text() == "a file, not a folder"
    predict = run_lmforge("predict", f"model_name_or_path={tiny_model('qwen3')}", f"dataset_dir={tmp_path / 'data'}",
                      "eval_dataset=tiny_sft", "template=qwen3", "output_dir=out", cwd=tmp_path)
    _one_error_line(predict, "output_dir: 'out' is a file, not a folder", command="predict")


@pytest.fixture
def read_only_dir(tmp_path):
    with read_only_folder(tmp_path / "readonly") as folder:
        yield folder


def test_read_only_output_dir(tmp_path, tiny_model, read_only_dir):
    with pytest.raises(OSError):  # the mount really refuses writes, to root as well
        (read_only_dir / "probe").write_text("x")
    for target in (read_only_dir, read_only_dir / "run"):  # the folder itself, or one to be made in it
        out = _train_tiny(tmp_path, tiny_model, f"output_dir={target}")
        _one_error_line(out, f"output_dir: cannot write to '{target}' (Read-only file system)")


def test_adapter_that_is_not_there(tmp_path, tiny_model):
    out = _train_tiny(tmp_path, tiny_model, "output_dir=out", "adapter_name_or_path=./saves/missing")
    _one_error_line(out, f"adapter_name_or_path: no such folder: ./saves/missing (from {tmp_path})")
    out = _train_tiny(tmp_path, tiny_model, "output_dir=out", "adapter_name_or_path=saves/a/missing")
    _one_error_line(out, "no such folder: saves/a/missing")
    (tmp_path / "not-an-adapter").mkdir()
    out = _train_tiny(tmp_path, tiny_model, "output_dir=out", "adapter_name_or_path=not-an-adapter")
    _one_error_line(out, "'not-an-adapter' holds no adapter_config.json")


def test_hub_ids_stay_allowed_as_adapters():
    from lmforge.config import load_config

    cfg = load_config({"model_name_or_path": "m", "dataset": "d", "adapter_name_or_path": "someone/lora-adapter"})
    assert cfg.model.adapter_name_or_path == ["someone/lora-adapter"]


@pytest.mark.parametrize("extra, expected", [
    (["quantization_bit=3"], "quantization_bit: 3 is not accepted; bitsandbytes quantises to 4 or 8 bits"),
    (["quantization_bit=4", "quantization_method=hqq"], "lmforge quantises on the fly with bitsandbytes only"),
    (["stage=dpo", "ref_model=m", "ref_model_quantization_bit=2"], "ref_model_quantization_bit: 2 is not accepted"),
])
def test_quantization_bits_are_refused_at_parse_time(tmp_path, tiny_model, extra, expected):
    _one_error_line(_train_tiny(tmp_path, tiny_model, "output_dir=out", *extra), expected)


def test_deepspeed_not_installed(monkeypatch):
    """transformers' own check fails with a PackageNotFoundError traceback while it builds the training
    arguments; the config names the install instead (deepspeed absent, as without the extra)."""
    monkeypatch.setitem(sys.modules, "deepspeed", None)
    with pytest.raises(ConfigError, match=r"DeepSpeed is not installed: pip install 'lmforge\[deepspeed\]'"):
        load_config(parse_argv(["model_name_or_path=m", "dataset=a", "deepspeed=ds.json"]))


