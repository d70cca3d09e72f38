"""use_swanlab through SwanLab's own package, offline (nothing leaves the machine).

swanlab caps protobuf below 7, which transformers 5 needs to convert SentencePiece tokenizers (the mistral and
phi3 fixtures), so these tests run in a virtualenv of their own (.ci/run; README); tests/conftest.py leaves this
folder out where swanlab is not installed."""

import json
from pathlib import Path

import pytest
import swanlab

from lmforge.config import load_config, parse_argv
from lmforge.errors import ConfigError
from lmforge.train.run import run_training

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "examples" / "tiny-phi3"


def test_use_swanlab_logs_offline(tmp_path):
    logdir = tmp_path / "swanlog"
    out = tmp_path / "sft"
    run_training(load_config(parse_argv([
        f"model_name_or_path={TINY}", "stage=sft", "dataset=alpaca_en_demo", f"dataset_dir={REPO / 'data'}",
        "template=phi", f"output_dir={out}", "max_samples=16", "cutoff_len=128", "per_device_train_batch_size=4",
        "logging_steps=1", "report_to=none", "disable_gradient_checkpointing=true", "save_strategy=no",
        "max_steps=2", "use_swanlab=true", "swanlab_mode=offline", f"swanlab_logdir={logdir}",
        "swanlab_run_name=keys-test"])))
    swanlab.finish()
    (run,) = [p for p in logdir.iterdir() if p.is_dir()]
    assert "lmforge" in (run / "files" / "config.yaml").read_text()
    data = b"".join(p.read_bytes() for p in run.glob("*.swanlab"))
    assert b"train/loss" in data
    assert len([json.loads(x) for x in (out / "trainer_log.jsonl").read_text().splitlines()]) >= 2


def test_use_swanlab_with_report_to_swanlab_is_refused():
    with pytest.raises(ConfigError, match="use_swanlab: true with report_to: swanlab would log every step twice"):
        load_config(parse_argv(["model_name_or_path=m", "dataset=a", "use_swanlab=true", "report_to=swanlab"]))
