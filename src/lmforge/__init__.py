"""lmforge: fine-tune large language models."""

__version__ = "0.1.0"
