"""Where log lines go. `log_to_stderr`: lmforge's own (INFO and up of the `lmforge` loggers) for the commands
that do not train; `setup_logging`: the root handler of training (per process rank), predict and eval, with
transformers' and datasets' loggers at WARNING. A leaf below train/ and infer/, which both use it."""

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


def setup_logging(rank_zero: bool = True) -> None:
    import datasets
    import transformers

    level = logging.INFO if rank_zero else logging.WARNING
    logging.basicConfig(format=FORMAT, level=level, force=True)
    drop_stderr_handler()  # commands that set up stderr logging first (predict) would print each line twice
    transformers.utils.logging.set_verbosity_warning()
    datasets.utils.logging.set_verbosity_warning()
