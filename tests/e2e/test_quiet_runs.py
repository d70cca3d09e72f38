"""A normal run prints lmforge's lines and the progress, not third-party noise: no bitsandbytes import (its
~4 s and its "Failed to load CPU gemm_4bit_forward ..." line) unless the config uses it, and no FutureWarning
from deprecated APIs on train, chat and export. Each command runs as `lmforge` does (cli.main in a fresh
interpreter), which then names the optional packages it imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODEL = "model_name_or_path=examples/tiny-phi3"
BNB_LINE = "gemm_4bit_forward"

pytestmark = pytest.mark.slow

# the command, then one line naming the optional packages it imported
SCRIPT = """\
import sys, types
from lmforge.cli import main
rc = main(sys.argv[1:])
names = ("bitsandbytes", "galore_torch", "apollo_torch")
print("IMPORTED:", ",".join(n for n in names if isinstance(sys.modules.get(n), types.ModuleType)))
sys.exit(rc)
"""


def run(*args: str, stdin: str | None = None) -> tuple[str, list[str]]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "PYTHONWARNINGS": "always::FutureWarning"}  # each one shown, also those Python would show only once
    proc = subprocess.run([sys.executable, "-c", SCRIPT, *args], input=stdin, capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    imported = proc.stdout.rsplit("IMPORTED:", 1)[1].strip()
    return proc.stdout + proc.stderr, imported.split(",") if imported else []


def test_train_chat_export_import_no_optional_packages_and_warn_nothing(tmp_path):
    out = tmp_path / "lora"
    train, imported = run("train", "examples/quickstart.yaml", f"output_dir={out}", "max_steps=2", "plot_loss=false",
                          "disable_gradient_checkpointing=false")
    assert "gradient checkpointing: on" in train  # the path that called a deprecated API
    assert imported == [] and BNB_LINE not in train
    assert "FutureWarning" not in train, train[-3000:]

    chat, imported = run("chat", MODEL, f"adapter_name_or_path={out}", "max_new_tokens=4", stdin="hi\nexit\n")
    assert "Assistant:" in chat
    assert imported == [] and BNB_LINE not in chat
    assert "FutureWarning" not in chat, chat[-3000:]

    export, imported = run("export", MODEL, f"adapter_name_or_path={out}", f"export_dir={tmp_path / 'merged'}")
    assert (tmp_path / "merged" / "config.json").is_file()
    assert imported == [] and BNB_LINE not in export
    assert "FutureWarning" not in export, export[-3000:]


def test_an_8bit_optimiser_still_gets_bitsandbytes(tmp_path):
    # the other side of the deferral: a run that asks for bitsandbytes imports it and trains
    _, imported = run("train", "examples/quickstart.yaml", f"output_dir={tmp_path}", "max_steps=1", "plot_loss=false",
                 "optim=adamw_bnb_8bit")
    assert imported == ["bitsandbytes"]


def test_a_program_calling_main_gets_bitsandbytes_back_after(tmp_path):
    # the deferral lasts one command: a program (a test session) that runs main() and then needs
    # bitsandbytes, or asks whether it is installed, still finds it
    script = ("import importlib.util, sys\nfrom lmforge.cli import main\n"
              "assert main(['preview', '--help']) == 0\n"
              "assert 'bitsandbytes' not in sys.modules and importlib.util.find_spec('bitsandbytes')\n"
              "import bitsandbytes\nprint('BNB OK')\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0 and "BNB OK" in proc.stdout, proc.stderr[-2000:]
