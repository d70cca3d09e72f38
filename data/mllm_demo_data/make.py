"""Writes mllm_demo: data/mllm_demo.json and the images it names, drawn here with PIL (nothing is
downloaded). `python data/mllm_demo_data/make.py [--out DIR]` rewrites them (DIR: the dataset_dir)."""

import argparse
import json
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent


def draw(out: Path, name: str, size: tuple[int, int], background: str,
         shapes: list[tuple[str, tuple, str]]) -> None:
    image = Image.new("RGB", size, background)
    pen = ImageDraw.Draw(image)
    for kind, box, colour in shapes:
        if kind == "ellipse":
            pen.ellipse(box, fill=colour)
        elif kind == "rectangle":
            pen.rectangle(box, fill=colour)
        else:  # polygon
            pen.polygon(box, fill=colour)
    image.save(out / name, optimize=True)


def _row(turns: list[tuple[str, str]], images: list[str]) -> dict:
    messages = []
    for user, assistant in turns:
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return {"messages": messages, "images": [f"mllm_demo_data/{name}" for name in images]}


ROWS = [
    _row([("<image>What shape is in the picture, and what colour is it?", "A red circle on a white background."),
          ("Is there anything else in the picture?", "No, the red circle is the only shape.")], ["1.png"]),
    _row([("<image>Describe this picture.",
           "A blue square stands on a short grey post against a pale yellow background.")], ["2.png"]),
    _row([("<image>How many shapes do you see?",
           "Two: a green triangle on the left and an orange circle on the right, on black.")], ["3.png"]),
    _row([("<image>图中是什么形状？是什么颜色？", "白色背景上有一个红色的圆。")], ["1.png"]),
    _row([("<image>请描述这张图片。", "淡黄色背景上，一个蓝色的正方形立在一根灰色的短柱上。")], ["2.png"]),
    _row([("Compare the two pictures: <image> and <image>. Which one has more shapes?",
           "The second: it has a green triangle and an orange circle, the first only a red circle.")],
         ["1.png", "3.png"]),
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE.parent, help="the dataset_dir to write into")
    out = parser.parse_args(argv).out
    images = out / "mllm_demo_data"
    images.mkdir(parents=True, exist_ok=True)
    draw(images, "1.png", (160, 120), "white", [("ellipse", (40, 20, 120, 100), "red")])
    draw(images, "2.png", (120, 160), "lightyellow", [("rectangle", (20, 30, 100, 110), "blue"),
                                                      ("rectangle", (50, 120, 70, 150), "gray")])
    draw(images, "3.png", (200, 100), "black", [("polygon", ((20, 90), (60, 10), (100, 90)), "green"),
                                                ("ellipse", (120, 30, 180, 90), "orange")])
    (out / "mllm_demo.json").write_text(json.dumps(ROWS, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
