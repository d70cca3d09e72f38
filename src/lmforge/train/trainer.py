"""The one training loop: transformers.Trainer with our loss, optimizer groups, logging and safe checkpoints.

Stages differ only in `compute_loss` and the collator; DDP / FSDP / DeepSpeed come through accelerate.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import torch
from transformers import Seq2SeqTrainer, TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from lmforge.config import Config, save_config
from lmforge.train.losses import causal_lm_loss

log = logging.getLogger(__name__)

CONFIG_NAME = "lmforge_config.yaml"


class LmforgeTrainer(Seq2SeqTrainer):
    """Seq2SeqTrainer (for predict_with_generate) + lmforge's loss, LoRA+ groups and atomic checkpoints."""

    def __init__(self, *args, lmforge_config: Config, **kwargs):
        super().__init__(*args, **kwargs)
        self.lmforge_config = lmforge_config
        # our compute_loss normalises by the token count of the whole accumulated batch (num_items_in_batch)
        self.model_accepts_loss_kwargs = True
        self._tokens_since_log = 0
        self._last_log_time: float | None = None

    # -- loss ------------------------------------------------------------------------------------------------
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs.pop("labels")
        if model.training and "attention_mask" in inputs:
            self._tokens_since_log += int(inputs["attention_mask"].sum())
        outputs = model(**inputs, use_cache=False)
        loss = causal_lm_loss(outputs.logits, labels, num_items_in_batch=num_items_in_batch)
        if num_items_in_batch is not None and self.args.average_tokens_across_devices:
            # num_items_in_batch counts every process's tokens; DDP averages gradients over processes
            loss = loss * self.accelerator.num_processes
        return (loss, outputs) if return_outputs else loss

    # -- optimizer -------------------------------------------------------------------------------------------
    def create_optimizer(self, model=None):
        ratio = self.lmforge_config.finetuning.loraplus_lr_ratio
        if self.optimizer is None and ratio is not None:
            self.optimizer = _loraplus_optimizer(self.model, self.args, ratio,
                                                 self.lmforge_config.finetuning.loraplus_lr_embedding)
        return super().create_optimizer(model)

    # -- logging ---------------------------------------------------------------------------------------------
    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs:
            now = time.perf_counter()
            if self._last_log_time is not None and now > self._last_log_time:
                tokens = self._tokens_since_log * self.accelerator.num_processes
                logs["tokens_per_second"] = round(tokens / (now - self._last_log_time), 2)
            self._last_log_time, self._tokens_since_log = now, 0
        super().log(logs, start_time)

    # -- saving ----------------------------------------------------------------------------------------------
    def _save(self, output_dir: str | None = None, state_dict=None) -> None:
        super()._save(output_dir, state_dict)
        if self.args.should_save:
            save_config(self.lmforge_config, Path(output_dir or self.args.output_dir) / CONFIG_NAME)

    def _save_checkpoint(self, model, trial) -> None:
        """Write checkpoint-N under a temporary name and rename it when complete: a kill mid-save leaves
        the previous checkpoint as the newest loadable one, never a half-written folder."""
        final = Path(self._get_output_dir(trial=trial)) / f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        real_output_dir = self.args.output_dir
        staging = final.parent / ".checkpoint-staging"
        if self.args.should_save:
            shutil.rmtree(staging, ignore_errors=True)
        self.accelerator.wait_for_everyone()
        # super() writes <output_dir>/checkpoint-N; point output_dir at the staging folder meanwhile
        self.args.output_dir = str(staging)
        try:
            super()._save_checkpoint(model, trial)
        finally:
            self.args.output_dir = real_output_dir
        self.accelerator.wait_for_everyone()
        if self.args.should_save:
            if final.exists():  # the same step saved twice (e.g. at the end of training)
                shutil.rmtree(final)
            os.replace(staging / final.name, final)  # a rename within one file system is atomic
            shutil.rmtree(staging, ignore_errors=True)
            best = self.state.best_model_checkpoint
            if best and Path(best).parent == staging:
                self.state.best_model_checkpoint = str(final.parent / Path(best).name)
            _rotate_checkpoints(final.parent, self.args.save_total_limit, self.state.best_model_checkpoint)
        self.accelerator.wait_for_everyone()


def _rotate_checkpoints(run_dir: Path, limit: int | None, keep: str | None) -> None:
    if not limit:
        return
    ckpts = sorted((p for p in run_dir.glob(f"{PREFIX_CHECKPOINT_DIR}-*") if p.name.split("-")[-1].isdigit()),
                   key=lambda p: int(p.name.split("-")[-1]))
    removable = [p for p in ckpts if keep is None or str(p) != str(keep)]
    for p in removable[: max(0, len(ckpts) - limit)]:
        shutil.rmtree(p, ignore_errors=True)


def _loraplus_optimizer(model, args, ratio: float, embedding_lr: float):
    """LoRA+ (Hayou et al., 2024): the B matrices learn `ratio` times faster than A."""
    decay, groups = args.weight_decay, {"a": [], "b": [], "b_nodecay": [], "embedding": [], "other": []}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if "lora_embedding" in name:
            groups["embedding"].append(p)
        elif "lora_B" in name:
            groups["b" if p.ndim > 1 else "b_nodecay"].append(p)
        elif "lora_A" in name:
            groups["a"].append(p)
        else:
            groups["other"].append(p)
    lr = args.learning_rate
    param_groups = [
        {"params": groups["a"], "lr": lr, "weight_decay": decay},
        {"params": groups["b"], "lr": lr * ratio, "weight_decay": decay},
        {"params": groups["b_nodecay"], "lr": lr * ratio, "weight_decay": 0.0},
        {"params": groups["embedding"], "lr": embedding_lr, "weight_decay": decay},
        {"params": groups["other"], "lr": lr, "weight_decay": decay},
    ]
    from transformers import Trainer

    optim_cls, optim_kwargs = Trainer.get_optimizer_cls_and_kwargs(args, model)
    optim_kwargs.pop("lr", None)
    log.info("LoRA+: lr of B = %g x %g", lr, ratio)
    return optim_cls([g for g in param_groups if g["params"]], **optim_kwargs)


class JsonlLogCallback(TrainerCallback):
    """Appends every log entry (with step, elapsed and ETA) to output_dir/trainer_log.jsonl."""

    def __init__(self, output_dir: str):
        self.path = Path(output_dir) / "trainer_log.jsonl"
        self.start = time.time()

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.time()
        self.first_step = state.global_step

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        elapsed = time.time() - self.start
        done = max(state.global_step - getattr(self, "first_step", 0), 1)
        remaining = (state.max_steps - state.global_step) * elapsed / done
        entry: dict[str, Any] = {"step": state.global_step, "total_steps": state.max_steps, **logs,
                                 "elapsed_s": round(elapsed, 2), "remaining_s": round(max(remaining, 0.0), 2)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")


class ProgressPostfixCallback(TrainerCallback):
    """Shows loss, learning rate and tokens/s on transformers' progress bar (which shows steps and ETA)."""

    def __init__(self, trainer: LmforgeTrainer):
        self.trainer = trainer

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs or "loss" not in logs:
            return
        from transformers.trainer_callback import ProgressCallback

        for cb in self.trainer.callback_handler.callbacks:
            if isinstance(cb, ProgressCallback) and cb.training_bar is not None:
                postfix = {"loss": f"{logs['loss']:.4f}"}
                if "learning_rate" in logs:
                    postfix["lr"] = f"{logs['learning_rate']:.2e}"
                if "tokens_per_second" in logs:
                    postfix["tok/s"] = f"{logs['tokens_per_second']:.0f}"
                cb.training_bar.set_postfix(postfix, refresh=False)


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())
