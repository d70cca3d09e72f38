"""Reading image files: the size from the header (cheap, for token counts while encoding) and the pixels
(in the collator). Errors name the file and what is wrong with it."""

from __future__ import annotations

import os
from typing import Any


class MediaFileError(ValueError):
    """An image file that is missing or cannot be read; the message names the path."""


def _open(path: str) -> Any:
    from PIL import Image, UnidentifiedImageError

    if not os.path.isfile(path):
        raise MediaFileError(f"image file not found: '{path}'")
    try:
        return Image.open(path)
    except (UnidentifiedImageError, OSError) as e:
        raise MediaFileError(f"image file cannot be read: '{path}' ({type(e).__name__}: {e})") from None


def image_size(path: str) -> tuple[int, int]:
    """(width, height) from the file's header; the pixels are not decoded."""
    with _open(path) as image:
        return image.size


def load_image(path: str) -> Any:
    """The decoded PIL image (its pixels read now, the file closed)."""
    with _open(path) as image:
        try:
            image.load()
        except OSError as e:  # truncated or corrupt pixel data behind a valid header
            raise MediaFileError(f"image file cannot be read: '{path}' ({e})") from None
        return image.copy()
