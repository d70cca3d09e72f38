"""Shared pieces of the end-to-end tests: a small dataset registry and the real `lmforge` command."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def write_alpaca_dataset(root: Path, n: int = 48, name: str = "tiny_sft") -> Path:
    """A dataset_dir with one alpaca dataset of `n` arithmetic rows (answers computed, so they are right)."""
    root.mkdir(parents=True, exist_ok=True)
    rows = [{"instruction": f"What is {a} plus {b}?", "input": "", "output": f"{a} plus {b} is {a + b}."}
            for a, b in ((i % 17 + 1, (i * 7) % 23 + 2) for i in range(n))]
    (root / f"{name}.json").write_text(json.dumps(rows, indent=1))
    (root / "dataset_info.json").write_text(json.dumps({name: {"file_name": f"{name}.json"}}))
    return root


def lmforge(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 600,
            background: bool = False, stdin: str | None = None):
    cmd = [sys.executable, "-m", "lmforge.cli", *args]
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", **(env or {})}
    if background:
        return subprocess.Popen(cmd, cwd=cwd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
    return subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout,
                          input=stdin)


def read_log(output_dir: Path) -> list[dict]:
    path = output_dir / "trainer_log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def losses_by_step(output_dir: Path) -> dict[int, float]:
    return {e["step"]: e["loss"] for e in read_log(output_dir) if "loss" in e}


@contextlib.contextmanager
def mounted(folder: Path, *mount_args: str):
    """`mount *mount_args folder` for the duration (folder is made first), unmounted after. Skips the test where
    mounting is not allowed (not root, or a container without CAP_SYS_ADMIN): a real read-only or full file
    system is the point of the tests that use it, so there is no imitation to fall back on."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", *mount_args, str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here ({' '.join(mount_args)}): {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def read_only_folder(folder: Path):
    """folder on a read-only bind mount of itself: unlike chmod, this stops root too."""
    return mounted(folder, "--bind", "-o", "ro", str(folder))


def small_disk(folder: Path, mib: int):
    """folder on a tmpfs of `mib` MiB: a disk that really fills up."""
    return mounted(folder, "-t", "tmpfs", "-o", f"size={mib}m", "tmpfs")
