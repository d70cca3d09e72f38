"""Relaunch `lmforge train` through torchrun when several devices are visible (or FORCE_TORCHRUN=1).

Environment, as LLaMA-Factory users know it: NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT, NPROC_PER_NODE.
"""

from __future__ import annotations

import logging
import os
import random
import subprocess
import sys

log = logging.getLogger(__name__)


def _truthy(name: str) -> bool:
    return os.environ.get(name, "0").lower() in ("1", "true", "yes")


def visible_device_count() -> int:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.device_count()
    if hasattr(torch, "xpu") and torch.xpu.is_available():
        return torch.xpu.device_count()
    return 0


def should_relaunch() -> bool:
    if "LOCAL_RANK" in os.environ or "RANK" in os.environ:
        return False  # already a torchrun worker
    return _truthy("FORCE_TORCHRUN") or visible_device_count() > 1


def torchrun_command(args: list[str]) -> list[str]:
    nproc = os.environ.get("NPROC_PER_NODE") or str(max(visible_device_count(), 1))
    master_port = os.environ.get("MASTER_PORT") or str(random.randint(20001, 29999))
    return [
        sys.executable, "-m", "torch.distributed.run",
        "--nnodes", os.environ.get("NNODES", "1"),
        "--node_rank", os.environ.get("NODE_RANK", "0"),
        "--nproc_per_node", nproc,
        "--master_addr", os.environ.get("MASTER_ADDR", "127.0.0.1"),
        "--master_port", master_port,
        "-m", "lmforge.cli", "train", *args,
    ]


def relaunch(args: list[str]) -> int:
    cmd = torchrun_command(args)
    print(f"lmforge: launching {cmd[cmd.index('--nproc_per_node') + 1]} processes per node with torchrun",
          file=sys.stderr)
    env = dict(os.environ)
    env.pop("FORCE_TORCHRUN", None)
    return subprocess.run(cmd, env=env).returncode
