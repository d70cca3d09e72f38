"""A run killed by a signal mid-way and resumed reproduces the uninterrupted run's loss curve."""

import signal
import time

import pytest
from helpers import lmforge, losses_by_step, write_alpaca_dataset

pytestmark = pytest.mark.slow

STEPS, SAVE_EVERY, KILL_AFTER = 24, 4, 12


def _args(model, data, out, *extra):
    return ["train", f"model_name_or_path={model}", f"dataset_dir={data}", "dataset=tiny_sft", "template=qwen3",
            f"output_dir={out}", f"max_steps={STEPS}", f"save_steps={SAVE_EVERY}", "logging_steps=1",
            "per_device_train_batch_size=4", "learning_rate=5e-3", "lr_scheduler_type=cosine", "warmup_steps=3",
            "cutoff_len=64", "report_to=none", "seed=7", "lora_dropout=0.1", *extra]


@pytest.mark.timeout(2400)  # three training runs
def test_killed_run_resumes_to_the_same_curve(tiny_model, tmp_path):
    model = tiny_model("qwen3")
    data = write_alpaca_dataset(tmp_path / "data")
    full = lmforge(*_args(model, data, tmp_path / "full"))
    assert full.returncode == 0, full.stdout + full.stderr
    reference = losses_by_step(tmp_path / "full")
    assert sorted(reference) == list(range(1, STEPS + 1))

    out = tmp_path / "killed"
    proc = lmforge(*_args(model, data, out), background=True)
    deadline = time.time() + 1200
    while not (out / f"checkpoint-{KILL_AFTER}").exists():
        assert proc.poll() is None, "the run ended before it could be killed:\n" + proc.stdout.read()
        assert time.time() < deadline, "no checkpoint appeared"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / f"checkpoint-{STEPS}").exists(), "the run finished before the kill"
    before = losses_by_step(out)

    again = lmforge(*_args(model, data, out))  # no resume key: refused, with both choices named
    assert again.returncode == 1
    assert "resume_from_checkpoint" in again.stderr and "overwrite_output_dir" in again.stderr

    resumed = lmforge(*_args(model, data, out, f"resume_from_checkpoint={out / f'checkpoint-{KILL_AFTER}'}"))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"resuming from {out / f'checkpoint-{KILL_AFTER}'}" in resumed.stderr
    after = losses_by_step(out)  # the log is appended to: later entries for a step win
    curve = {step: before[step] for step in range(1, KILL_AFTER + 1)}
    curve.update({step: after[step] for step in range(KILL_AFTER + 1, STEPS + 1)})
    assert curve == pytest.approx(reference, rel=1e-5, abs=1e-6)


def test_checkpoint_is_never_half_written(tiny_model, tmp_path):
    """Every checkpoint-N folder that exists is complete, even while saving: saves go to a staging folder
    that is renamed when done."""
    model = tiny_model("qwen3")
    data = write_alpaca_dataset(tmp_path / "data")
    out = tmp_path / "run"
    proc = lmforge(*_args(model, data, out, "save_total_limit=2"), background=True)
    seen = set()
    while proc.poll() is None:
        for ckpt in out.glob("checkpoint-*"):
            if ckpt.name in seen:
                continue
            try:
                names = {p.name for p in ckpt.iterdir()}
            except FileNotFoundError:  # rotated away meanwhile
                continue
            assert {"adapter_model.safetensors", "optimizer.pt", "trainer_state.json"} <= names, names
            seen.add(ckpt.name)
        time.sleep(0.01)
    assert proc.returncode == 0, proc.stdout.read()
    remaining = sorted(p.name for p in out.glob("checkpoint-*"))
    assert remaining == [f"checkpoint-{STEPS - SAVE_EVERY}", f"checkpoint-{STEPS}"]  # save_total_limit=2
    assert not (out / ".checkpoint-staging").exists()
