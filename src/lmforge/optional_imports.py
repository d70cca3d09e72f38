"""bitsandbytes is imported only by runs that use it.

peft imports bitsandbytes whenever it is installed, and it is installed more often than used: galore-torch
and apollo-torch depend on it. On a CPU machine that import costs ~4 s (torch._dynamo, bitsandbytes' op
registry) and prints "Failed to load CPU gemm_4bit_forward ..." from its kernel-hub lookup, on every
command. So the `lmforge` command starts with bitsandbytes marked absent (None in sys.modules: `import`
raises ImportError and importlib.util.find_spec returns None, which is how peft and transformers ask) and
lifts the mark where a run needs it: quantisation (quantization_bit, or a checkpoint saved quantised by
bitsandbytes), an 8-bit / paged optimiser, GaLore and APOLLO (whose packages import it).

A leaf module: the command, the config-level decision and the model loader all use it.
"""

from __future__ import annotations

import sys

BNB = "bitsandbytes"
# optimisers (transformers' `optim` names) that import bitsandbytes: adamw_bnb_8bit, adamw_8bit, paged_*,
# lion_8bit / lion_32bit, rmsprop_bnb*, ademamix*, and GaLore / APOLLO (galore_torch imports bitsandbytes.optim)
BNB_OPTIMIZER_MARKS = ("bnb", "8bit", "32bit", "paged", "lion", "ademamix", "galore", "apollo")


def defer_bitsandbytes() -> None:
    """Mark bitsandbytes absent for this process, unless something imported it already."""
    sys.modules.setdefault(BNB, None)


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
