"""What `lmforge train` leaves in output_dir when things go wrong: a full disk, a kill during the final save,
old checkpoints. Never a traceback, never a half-written model that another command trips over."""

import shutil
import signal
import time

import pytest
from helpers import lmforge, small_disk, write_alpaca_dataset

from lmforge.train.checkpoints import folder_bytes, format_bytes

pytestmark = pytest.mark.slow

MiB = 1 << 20


def _args(model, data, out, *extra):
    return ["train", f"model_name_or_path={model}", f"dataset_dir={data}", "dataset=tiny_sft", "template=qwen3",
            f"output_dir={out}", "max_steps=4", "per_device_train_batch_size=2", "cutoff_len=32",
            "report_to=none", *extra]


def _error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if ": error: " in line]


@pytest.mark.timeout(900)
def test_disk_full_during_a_checkpoint(tiny_model, tmp_path):
    """A 16 MiB disk holds checkpoint-2 (~11.6 MiB, the Qwen3 tokenizer mostly) but not checkpoint-4 too: the
    save fails in one line naming the folder and the space it needs, and the partial save is removed."""
    data = write_alpaca_dataset(tmp_path / "data")
    with small_disk(tmp_path / "disk", 16) as disk:
        out = disk / "run"
        done = lmforge(*_args(tiny_model("qwen3"), data, out, "save_steps=2"))
        assert done.returncode == 1, done.stdout + done.stderr
        [error] = _error_lines(done.stderr)
        kept = folder_bytes(out / "checkpoint-2")
        assert kept > 10 * MiB  # it fits; the next one does not
        assert error.startswith(f"lmforge train: error: no space left on the disk of {out} while saving "
                                f"checkpoint-4: it needs about {format_bytes(kept)}"), error
        assert not (out / ".checkpoint-staging").exists()
        assert not (out / "checkpoint-4").exists()
        assert (out / "checkpoint-2" / "adapter_config.json").exists()
        free = shutil.disk_usage(disk).free
        assert free > 16 * MiB - folder_bytes(out) - MiB, "the failed save still takes up the disk"
        assert f"and {format_bytes(free)} is free" in error


@pytest.mark.timeout(900)
def test_disk_full_during_the_final_save(tiny_model, tmp_path):
    """An 8 MiB disk cannot hold the final model (the tokenizer alone is 11 MiB): one line naming the folder,
    the staging folder removed, and no model left in output_dir that a loader would take for complete."""
    data = write_alpaca_dataset(tmp_path / "data")
    with small_disk(tmp_path / "disk", 8) as disk:
        out = disk / "run"
        done = lmforge(*_args(tiny_model("qwen3"), data, out, "save_strategy=no"))
        assert done.returncode == 1, done.stdout + done.stderr
        [error] = _error_lines(done.stderr)
        assert f"no space left on the disk of {out} while saving the final model to {out}" in error, error
        assert not (out / ".final-staging").exists()
        assert not (out / "adapter_config.json").exists()
        assert shutil.disk_usage(disk).free > 7 * MiB


@pytest.mark.timeout(1200)
def test_a_kill_during_the_final_save_leaves_no_half_model(tiny_model, tmp_path):
    """Killed the moment adapter weights appear in output_dir: the folder is then either the complete model or
    no model at all, and `lmforge chat` on it either loads it or says what is wrong in one line."""
    model = tiny_model("qwen3")
    data = write_alpaca_dataset(tmp_path / "data")
    out = tmp_path / "run"
    proc = lmforge(*_args(model, data, out, "save_strategy=no"), background=True)
    deadline = time.time() + 900
    while not (out / "adapter_model.safetensors").exists():
        assert proc.poll() is None, "the run ended before its final save was seen:\n" + proc.stdout.read()
        assert time.time() < deadline, "no final save appeared"
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    if (out / "adapter_config.json").exists():  # complete: everything a loader reads is there
        for name in ("adapter_model.safetensors", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
            assert (out / name).exists(), name
    chat = lmforge("chat", f"model_name_or_path={model}", f"adapter_name_or_path={out}", "template=qwen3",
                   stdin="exit\n")
    if chat.returncode != 0:
        assert chat.returncode == 1
        [error] = _error_lines(chat.stderr)
        assert f"adapter_name_or_path: '{out}' holds no adapter_config.json" in error, error


def test_the_newest_checkpoint_is_named_by_step(tiny_model, tmp_path):
    """checkpoint-26 is newer than checkpoint-8, though '8' sorts after '2' as text."""
    data = write_alpaca_dataset(tmp_path / "data")
    out = tmp_path / "run"
    for step in (8, 26, 100, 9):
        (out / f"checkpoint-{step}").mkdir(parents=True)
    done = lmforge(*_args(tiny_model("qwen3"), data, out))
    assert done.returncode == 1
    [error] = _error_lines(done.stderr)
    assert f"already holds checkpoints (checkpoint-100, ...): set resume_from_checkpoint: {out / 'checkpoint-100'}" \
        in error, error
