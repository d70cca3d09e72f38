"""User-facing errors: the CLI prints their message and exits non-zero, without a traceback.

Raise one of these whenever the cause is the user's input (config, data, template choice, paths) and the
message can say exactly what to fix. Bugs in lmforge itself stay ordinary exceptions with tracebacks.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class LmforgeError(Exception):
    """Base class of errors caused by user input."""


class ConfigError(LmforgeError):
    """A bad configuration key or value."""


class DataError(LmforgeError):
    """A dataset that cannot be loaded or converted as registered."""


class TemplateError(LmforgeError):
    """A chat template that does not exist, does not fit the tokenizer, or rejects the data."""


def did_you_mean(name: str, options: Iterable[str], n: int = 3) -> str:
    """' did you mean 'a' or 'b'?' for the closest options, or '' when nothing is close."""
    close = difflib.get_close_matches(name, list(options), n=n, cutoff=0.6)
    if not close:
        return ""
    quoted = [f"'{c}'" for c in close]
    return "; did you mean " + " or ".join(quoted) + "?"
