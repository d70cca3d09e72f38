"""Draws the mllm_demo images (nothing is downloaded): `python data/mllm_demo_data/make.py` rewrites them."""

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent


def draw(name: str, size: tuple[int, int], background: str, shapes: list[tuple[str, tuple, str]]) -> None:
    image = Image.new("RGB", size, background)
    pen = ImageDraw.Draw(image)
    for kind, box, colour in shapes:
        if kind == "ellipse":
            pen.ellipse(box, fill=colour)
        elif kind == "rectangle":
            pen.rectangle(box, fill=colour)
        else:  # polygon
            pen.polygon(box, fill=colour)
    image.save(HERE / name, optimize=True)


if __name__ == "__main__":
    draw("1.png", (160, 120), "white", [("ellipse", (40, 20, 120, 100), "red")])
    draw("2.png", (120, 160), "lightyellow", [("rectangle", (20, 30, 100, 110), "blue"),
                                              ("rectangle", (50, 120, 70, 150), "gray")])
    draw("3.png", (200, 100), "black", [("polygon", ((20, 90), (60, 10), (100, 90)), "green"),
                                        ("ellipse", (120, 30, 180, 90), "orange")])
