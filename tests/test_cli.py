"""The real `lmforge` command in a subprocess, as a user runs it."""

import subprocess
import sys

import lmforge


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
