"""Where lmforge's own log lines go for the commands that do not train (training sets up logging per process
rank in train/run.py): INFO and up of the `lmforge` loggers, to stderr, in the training format."""

from __future__ import annotations

import logging
import sys

FORMAT = "[%(levelname)s|%(name)s] %(message)s"


def log_to_stderr(level: int = logging.INFO) -> None:
    logger = logging.getLogger("lmforge")
    if logger.handlers or logging.getLogger().handlers:
        return  # already set up (by the caller's program, or a command run before in this process)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.lmforge_stderr = True  # setup_logging replaces it by the root handler it installs
    logger.addHandler(handler)
    logger.setLevel(level)


def drop_stderr_handler() -> None:
    """Remove log_to_stderr's handler: the caller is installing a root handler, which would print every line
    a second time."""
    logger = logging.getLogger("lmforge")
    for handler in [h for h in logger.handlers if getattr(h, "lmforge_stderr", False)]:
        logger.removeHandler(handler)
