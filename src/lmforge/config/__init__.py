"""Typed configuration: one dataclass per concern plus transformers' training arguments."""

from lmforge.config.data import DataArguments
from lmforge.config.finetuning import FinetuningArguments
from lmforge.config.generation import GeneratingArguments
from lmforge.config.model import ModelArguments
from lmforge.config.parser import Config, load_config, parse_argv, resolved_dict, save_config

__all__ = [
    "Config",
    "DataArguments",
    "FinetuningArguments",
    "GeneratingArguments",
    "ModelArguments",
    "load_config",
    "parse_argv",
    "resolved_dict",
    "save_config",
]
