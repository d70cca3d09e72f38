"""`plot_loss: true`: training_loss.png and eval_loss.png (and, for RL stages, training_reward.png) from
output_dir/trainer_log.jsonl."""

from __future__ import annotations

import json
from pathlib import Path


def _smooth(values: list[float], weight: float = 0.9) -> list[float]:
    """Exponential moving average, bias-corrected so the first points are not pulled towards zero."""
    out, avg = [], 0.0
    for i, v in enumerate(values, 1):
        avg = weight * avg + (1 - weight) * v
        out.append(avg / (1 - weight**i))
    return out


def plot_losses(output_dir: str | Path) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        import logging

        logging.getLogger(__name__).warning("plot_loss needs matplotlib: pip install 'lmforge[plot]'")
        return []
    out = Path(output_dir)
    entries = [json.loads(line) for line in (out / "trainer_log.jsonl").read_text().splitlines() if line.strip()]
    written = []
    for key, name in (("loss", "training_loss.png"), ("eval_loss", "eval_loss.png"),
                      ("reward", "training_reward.png")):
        points = [(e["step"], e[key]) for e in entries if key in e]
        if not points:
            continue
        steps, values = zip(*points, strict=True)
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.plot(steps, values, alpha=0.4, label="raw")
        if len(values) > 2:
            ax.plot(steps, _smooth(list(values)), label="smoothed")
        ax.set_xlabel("step")
        ax.set_ylabel(key)
        ax.set_title(f"{key} of {out.name}")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / name, dpi=100)
        plt.close(fig)
        written.append(out / name)
    return written
