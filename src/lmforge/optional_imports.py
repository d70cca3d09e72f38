"""bitsandbytes is imported only by runs that use it.

peft imports bitsandbytes whenever it is installed, and it is installed more often than used: galore-torch
and apollo-torch depend on it. On a CPU machine that import costs ~4 s (torch._dynamo, bitsandbytes' op
registry) and prints "Failed to load CPU gemm_4bit_forward ..." from its kernel-hub lookup, on every
command. So the `lmforge` command starts with bitsandbytes marked absent (None in sys.modules: `import`
raises ImportError and importlib.util.find_spec returns None, which is how peft and transformers ask) and
lifts the mark where a run needs it: quantisation (quantization_bit, or a checkpoint saved quantised by
bitsandbytes), an 8-bit / paged optimiser, GaLore and APOLLO (whose packages import it).

A leaf module: the command, the config-level decision and the model loader all use it. (peft binds its
helpers' `bnb` name at import; with the mark set that is None for the process, which only its dequantising
helper reads, not the training or merging paths.)
"""

from __future__ import annotations

import contextlib
import sys

BNB = "bitsandbytes"
# optimisers (transformers' `optim` names) that import bitsandbytes: adamw_bnb_8bit, adamw_8bit, paged_*,
# lion_8bit / lion_32bit, rmsprop_bnb*, ademamix*, and GaLore / APOLLO (galore_torch imports bitsandbytes.optim)
BNB_OPTIMIZER_MARKS = ("bnb", "8bit", "32bit", "paged", "lion", "ademamix", "galore", "apollo")


@contextlib.contextmanager
def bitsandbytes_deferred():
    """bitsandbytes marked absent while the block runs (one command), unless something imported it already.
    The mark is lifted after: a program that calls lmforge's main() and then uses bitsandbytes itself (a test
    session) still finds it."""
    ours = BNB not in sys.modules
    if ours:
        sys.modules[BNB] = None
    try:
        yield
    finally:
        if ours:
            allow_bitsandbytes()


def allow_bitsandbytes() -> None:
    """Lift defer_bitsandbytes' mark. Availability checks that ran while it was set (and cached their answer)
    are asked again."""
    if BNB in sys.modules and sys.modules[BNB] is None:
        del sys.modules[BNB]
    for module, check in (("transformers.utils.import_utils", "is_bitsandbytes_available"),
                          ("peft.import_utils", "is_bnb_available"), ("peft.import_utils", "is_bnb_4bit_available")):
        clear = getattr(getattr(sys.modules.get(module), check, None), "cache_clear", None)
        if clear is not None:
            clear()


def needs_bitsandbytes(cfg) -> bool:
    """Whether the run this config describes uses bitsandbytes (a checkpoint saved quantised is found later,
    by the model loader, from its config)."""
    f = cfg.finetuning
    optim = str(getattr(cfg.training.optim, "value", cfg.training.optim)).lower()
    return (cfg.model.quantization_bit is not None or f.use_galore or f.use_apollo
            or any(mark in optim for mark in BNB_OPTIMIZER_MARKS))
