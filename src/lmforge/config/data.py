"""Which data to train on and how it becomes token ids."""

from __future__ import annotations

from dataclasses import dataclass

from lmforge.config.fields import arg


@dataclass
class DataArguments:
    template: str | None = arg(
        None, "Chat template name (e.g. qwen3, llama3). Unset: use the tokenizer's own chat_template.")
    dataset: list[str] | None = arg(None, "Training dataset name(s) from dataset_info.json, comma separated.")
    eval_dataset: list[str] | None = arg(None, "Evaluation dataset name(s), comma separated.")
    dataset_dir: str = arg("data", "Folder holding dataset_info.json and local dataset files.")
    media_dir: str | None = arg(None, "Folder of images/videos/audios (default: dataset_dir).")
    cutoff_len: int = arg(2048, "Maximum tokens per example after tokenization (longer ones are truncated).")
    train_on_prompt: bool = arg(False, "Also compute the loss on prompt tokens.")
    mask_history: bool = arg(False, "Compute the loss on the last assistant turn only.")
    streaming: bool = arg(False, "Stream the datasets instead of loading them whole.")
    buffer_size: int = arg(16384, "Shuffle buffer size when streaming.")
    mix_strategy: str = arg("concat", "How several datasets are combined.",
                            choices=["concat", "interleave_under", "interleave_over"])
    interleave_probs: list[float] | None = arg(
        None, "Sampling probability of each dataset when interleaving, comma separated.")
    overwrite_cache: bool = arg(False, "Re-tokenize even when a cached tokenized dataset exists.")
    preprocessing_batch_size: int = arg(1000, "Rows per batch in preprocessing.")
    preprocessing_num_workers: int | None = arg(None, "Processes used for preprocessing.")
    max_samples: int | None = arg(None, "Keep at most this many rows of each dataset (for debugging).")
    eval_num_beams: int | None = arg(None, "Beams used in evaluation generation (`num_beams` of generate).")
    ignore_pad_token_for_loss: bool = arg(
        True, "Leave padding out of the loss (labels padded with -100; predictions decode labels without it).",
        unsupported="lmforge always leaves padding out of the loss; false (LLaMA-Factory pads labels with "
        "pad_token_id, so padding positions are trained and the loss depends on how examples are batched) is not "
        "supported")
    val_size: float = arg(0.0, "Held-out evaluation split: a fraction in (0, 1) or a row count >= 1.")
    eval_on_each_dataset: bool = arg(False, "Evaluate each eval dataset separately.")
    packing: bool | None = arg(None, "Pack several examples into each sequence, each attending only to itself "
                               "(rm, dpo, kto: each batch's sequences in padding-free rows). Unset: on for pt, off otherwise.")
    neat_packing: bool = arg(False, "Packing in which each example attends only to itself (implies packing).")
    tool_format: str | None = arg(None, "Tool-call format to use instead of the template's own.")
    default_system: str | None = arg(None, "System prompt used when a row has none (overrides the template's).")
    enable_thinking: bool | None = arg(True, "For thinking models: true, false, or null (keep each row as is).")
    tokenized_path: str | None = arg(None, "Save the tokenized dataset here, or load it from here if it exists.")
    data_shared_file_system: bool = arg(False, "Whether nodes share a file system (multi-node preprocessing).")
