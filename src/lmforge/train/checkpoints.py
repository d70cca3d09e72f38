"""What a run writes to disk, written so that nothing is ever seen half-written.

- checkpoint-N folders are found and ordered by their step (checkpoint-26 is newer than checkpoint-8);
- every save (checkpoints and the final model) first fills a staging folder; only a complete save is moved
  into place, and a failed one is removed, so a full disk is not left full;
- a full disk is one line naming the folder and the space the save needs, not a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from lmforge.errors import LmforgeError

# transformers' PREFIX_CHECKPOINT_DIR, spelled out: importing transformers.trainer_utils loads torch, peft and
# bitsandbytes (which prints warnings), too much for the config checks that run before training
PREFIX_CHECKPOINT_DIR = "checkpoint"

# the file that makes a folder a model (config.json) or a LoRA adapter (adapter_config.json) for every loader;
# moved into place last, so that while it exists the rest of the save is there too
MODEL_MARKERS = ("config.json", "adapter_config.json")


class DiskFullError(LmforgeError):
    """A save ran out of disk space."""


def checkpoint_step(path: Path) -> int | None:
    prefix, _, step = path.name.rpartition("-")
    return int(step) if prefix == PREFIX_CHECKPOINT_DIR and step.isdigit() else None


def checkpoints_by_step(run_dir: str | Path) -> list[Path]:
    """The checkpoint-N folders of run_dir, oldest (smallest N) first; [] when run_dir is no folder."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = [p for p in run_dir.glob(f"{PREFIX_CHECKPOINT_DIR}-*") if p.is_dir() and checkpoint_step(p) is not None]
    return sorted(found, key=checkpoint_step)


def rotate_checkpoints(run_dir: Path, limit: int | None, keep: str | None) -> None:
    """save_total_limit: delete the oldest checkpoints beyond `limit`, never `keep` (the best one)."""
    if not limit:
        return
    ckpts = checkpoints_by_step(run_dir)
    removable = [p for p in ckpts if keep is None or str(p) != str(keep)]
    for p in removable[: max(0, len(ckpts) - limit)]:
        shutil.rmtree(p, ignore_errors=True)


def write_staged(staging: Path, write: Callable[[], None], *, what: str, main: bool, wait: Callable[[], None],
                 needed: Callable[[], int]) -> None:
    """Run write(), which fills the (emptied) folder `staging`. On failure the staging folder is removed
    (a partial save must not keep the disk full) and a full disk becomes a DiskFullError naming the folder
    and about how much space `what` needs (`needed()`: an estimate in bytes)."""
    if main:
        shutil.rmtree(staging, ignore_errors=True)
    wait()
    try:
        write()
    except Exception as e:
        written = folder_bytes(staging)
        full = _is_disk_full(e, staging.parent)
        if main:
            shutil.rmtree(staging, ignore_errors=True)
        if not full:
            raise
        free = shutil.disk_usage(staging.parent).free
        need = max(needed(), written)
        raise DiskFullError(
            f"no space left on the disk of {staging.parent} while saving {what}: it needs about "
            f"{format_bytes(need)} and {format_bytes(free)} is free (the partial save was removed); free space "
            f"there or set output_dir to a folder on a larger disk") from None
    wait()


def _is_disk_full(e: BaseException, folder: Path) -> bool:
    """ENOSPC, however the writer reports it: OSError (Python), SafetensorError ('os error 28') or torch.save's
    RuntimeError, which does not say why (then: the disk is full now)."""
    while e is not None:
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(e) or "os error 28" in str(e):
            return True
        e = e.__cause__ or e.__context__
    try:
        return shutil.disk_usage(folder).free < 1 << 20
    except OSError:
        return False


def publish(staging: Path, target: Path) -> None:
    """Move a complete save from `staging` into `target` (which holds other things: checkpoints, logs).

    Each file is moved with an atomic rename; the marker files (MODEL_MARKERS) of an older model in `target`
    are removed first and the new ones are moved last, so at every moment `target` is either no model (every
    loader says so) or the complete new one; never new weights without their tokenizer."""
    for name in MODEL_MARKERS:
        (target / name).unlink(missing_ok=True)
    markers = [name for name in MODEL_MARKERS if (staging / name).exists()]
    for path in sorted(staging.iterdir()):
        if path.name in markers:
            continue
        dest = target / path.name
        if dest.is_dir() and not path.is_dir():
            shutil.rmtree(dest)
        elif path.is_dir() and dest.exists():
            shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
        os.replace(path, dest)
    for name in markers:
        os.replace(staging / name, target / name)
    shutil.rmtree(staging, ignore_errors=True)


def folder_bytes(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):  # removed meanwhile
                total += os.path.getsize(os.path.join(root, name))
    return total


def format_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"
