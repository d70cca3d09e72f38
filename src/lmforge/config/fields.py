"""`arg()`: a dataclass field that carries its help text, its accepted choices and its support status."""

from __future__ import annotations

from dataclasses import MISSING, field
from typing import Any


def arg(default: Any = MISSING, help: str = "", *, choices: list | None = None,
        unsupported: str | None = None, default_factory: Any = MISSING) -> Any:
    """A config field.

    choices:      the only values accepted (checked at parse time, message lists them).
    unsupported:  the key is accepted for LLaMA-Factory compatibility, but lmforge does not implement it
                  yet; setting it to anything but its default is a ConfigError that says so (never a
                  silent no-op). The string says what to do instead, if anything.
    """
    metadata = {"help": help, "choices": choices, "unsupported": unsupported}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)
