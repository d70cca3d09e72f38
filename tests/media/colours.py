"""The colour task: solid-colour images (random shade jitter and size) -> the colour's name."""

from __future__ import annotations

import json
import random
from pathlib import Path

COLOURS = {"red": (220, 30, 30), "green": (30, 180, 40), "blue": (30, 60, 220), "yellow": (235, 220, 40),
           "white": (245, 245, 245), "black": (15, 15, 15)}
QUESTION = "<image>What colour is this picture?"


def colour_image(rgb: tuple[int, int, int], rng: random.Random, path: Path) -> None:
    from PIL import Image

    jitter = tuple(max(0, min(255, c + rng.randint(-25, 25))) for c in rgb)
    size = (rng.randint(28, 90), rng.randint(28, 90))
    Image.new("RGB", size, jitter).save(path)


def write_colour_dataset(root: Path, per_colour: int, seed: int, name: str = "colours") -> list[dict]:
    """dataset_dir `root` with a sharegpt dataset `name` (LLaMA-Factory's mllm form, images relative to the
    dataset_dir) of `per_colour` rows per colour; returns the rows."""
    rng = random.Random(seed)
    (root / name).mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(per_colour):
        for colour, rgb in COLOURS.items():
            rel = f"{name}/{colour}_{i}.png"
            colour_image(rgb, rng, root / rel)
            rows.append({"messages": [{"role": "user", "content": QUESTION},
                                      {"role": "assistant", "content": colour}], "images": [rel]})
    rng.shuffle(rows)
    (root / f"{name}.json").write_text(json.dumps(rows, indent=1))
    info_path = root / "dataset_info.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    info[name] = {"file_name": f"{name}.json", "formatting": "sharegpt",
                  "columns": {"messages": "messages", "images": "images"},
                  "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                           "assistant_tag": "assistant"}}
    info_path.write_text(json.dumps(info, indent=1))
    return rows
