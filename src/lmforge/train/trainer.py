"""The one training loop: transformers.Trainer with our loss, optimizer groups, logging and safe checkpoints.

Stages differ only in `compute_loss` and the collator; DDP / FSDP / DeepSpeed come through accelerate.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from functools import partial
from pathlib import Path
from typing import Any

import torch
from transformers import Seq2SeqTrainer, TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from lmforge.config import Config, save_config
from lmforge.errors import ConfigError
from lmforge.train import checkpoints
from lmforge.train.losses import (
    IGNORE_INDEX,
    _normaliser,
    causal_lm_loss,
    chunked_linear_cross_entropy,
    dft_loss,
    eaft_loss,
    packed_to_rows,
    sequence_accuracy,
    token_accuracy,
)

log = logging.getLogger(__name__)

CONFIG_NAME = "lmforge_config.yaml"


class LmforgeTrainer(Seq2SeqTrainer):
    """Seq2SeqTrainer (for predict_with_generate) + lmforge's loss, LoRA+ groups and atomic checkpoints."""

    ROUTER_AUX_LOSS = True  # pt / sft add a MoE model's router load-balancing loss (the stages' losses do not)

    def __init__(self, *args, lmforge_config: Config, head_loss: bool | None = None,
                 offload_activations: bool | dict = False, **kwargs):
        """head_loss: compute the training loss from the last hidden state with the head fused into the
        cross-entropy (never materialising [tokens, vocab] logits): None = whenever the model allows it
        (see _loss_head), False = always from the model's logits (the reference path).
        offload_activations: keep what the forward saves for backward (with gradient checkpointing: each
        layer's input) in pinned CPU memory instead of on the GPU (models/memory.py); a dict passes options
        to ActivationOffloader."""
        super().__init__(*args, **kwargs)
        self.lmforge_config = lmforge_config
        # our compute_loss normalises by the token count of the whole accumulated batch (num_items_in_batch)
        self.model_accepts_loss_kwargs = True
        self._tokens_since_log = 0
        self._tokens_trained = 0  # since train() began, this process: include_effective_tokens_per_second
        self._last_log_time: float | None = None
        self._accuracy = [0.0, 0]  # compute_accuracy: (sum of per-sequence accuracies, sequences) this evaluation
        self._router_aux_coef = self._router_aux_coef_of(self.model)
        self._aux_loss = None  # the last forward's unscaled router loss (MoE models in training)
        if lmforge_config.model.upcast_lmhead_output:
            upcast_lm_head_output(self.model)
        self._head_loss = head_loss
        self._head: tuple | None = None  # (decoder module, lm_head weight) once known
        self._head_checked = False
        self._offloader = None
        if offload_activations and torch.cuda.is_available():
            from lmforge.models.memory import ActivationOffloader

            self._offloader = ActivationOffloader(**(offload_activations if isinstance(offload_activations, dict)
                                                     else {}))
            log.info("activation offload: tensors saved for backward are kept in pinned CPU memory")
        elif offload_activations:
            log.info("activation offload (use_unsloth_gc): no CUDA GPU, so there is nothing to offload")
        self._report_speed_choices()

    def prepare_reference(self, model):
        """A frozen reference model placed as the policy is. Under ZeRO-3 its weights were partitioned as they
        loaded, and only a DeepSpeed engine gathers them for a forward: it gets an inference-only engine of its
        own (as TRL does); elsewhere accelerate places it."""
        plugin = self.accelerator.state.deepspeed_plugin if self.is_deepspeed_enabled else None
        if plugin is None or plugin.zero_stage != 3:
            return self.accelerator.prepare_model(model, evaluation_mode=True)
        import copy

        import deepspeed

        ds = copy.deepcopy(plugin.deepspeed_config)
        ds.pop("optimizer", None)
        ds.pop("scheduler", None)
        hidden = getattr(getattr(model, "config", None), "hidden_size", None) or 1024
        zero = ds["zero_optimization"]  # the buckets left "auto" are sized here, as TRL sizes them
        for key, value in (("reduce_bucket_size", hidden * hidden), ("stage3_prefetch_bucket_size", 0),
                           ("stage3_param_persistence_threshold", 10 * hidden)):
            if zero.get(key) == "auto":
                zero[key] = value
        zero.pop("offload_optimizer", None)  # nothing to optimise
        engine, *_ = deepspeed.initialize(model=model, config=ds)
        engine.eval()
        return engine

    def _report_speed_choices(self) -> None:
        from lmforge.models import kernels

        cfg, args = self.lmforge_config, self.args
        # DeepSpeed runs bf16 / fp16 as its own weight casts, not torch autocast: there the LoRA input's cast
        # to the adapters' float32 is what makes the matmul's dtypes agree, so it stays
        if (args.bf16 or args.fp16) and cfg.finetuning.finetuning_type == "lora" and not self.is_deepspeed_enabled:
            n = kernels.skip_lora_input_casts(self.model)
            log.info("LoRA: %d layers skip the exact float32 round trip of their input under autocast", n)
        if cfg.finetuning.finetuning_type == "lora" and kernels.LEAN_LORA:
            n = kernels.lean_lora_layers(self.model)
            log.info("LoRA: %d layers apply their scaling at rank %s, not to the layer's output, and run as one "
                     "fused autograd node where that is exact%s", n, cfg.finetuning.lora_rank,
                     "" if kernels.FUSED_LORA else " (fusion off)")
        log.info("torch.compile: %s", "on" if args.torch_compile else "off (torch_compile: true turns it on)")
        if cfg.model.use_unsloth:
            log.info("use_unsloth: lmforge's own fast path, not Unsloth: lean/fused LoRA and the fused head + "
                     "cross-entropy (on by default), and offloaded gradient checkpointing (use_unsloth_gc: %s)",
                     "on" if cfg.model.use_unsloth_gc else "off, as gradient checkpointing is off or not reentrant")

    # -- loss ------------------------------------------------------------------------------------------------
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs.pop("labels")
        if model.training:
            mask = inputs.get("attention_mask")
            self._add_tokens(int(mask.sum()) if mask is not None else inputs["input_ids"].numel())
        if model.training and self._router_aux_coef is not None:
            inputs = {**inputs, "output_router_logits": True}
        self._aux_loss = None
        loss = None
        sft_loss = self._sft_loss()
        if model.training and not return_outputs and sft_loss is None and self._loss_head(model) is not None:
            loss = self._head_fused_loss(model, inputs, labels, num_items_in_batch)
        if loss is None:
            outputs = model(**inputs, use_cache=False)
            self._aux_loss = getattr(outputs, "aux_loss", None)
            loss = (sft_loss or causal_lm_loss)(outputs.logits, labels, num_items_in_batch=num_items_in_batch)
            if not model.training and self.lmforge_config.finetuning.compute_accuracy:
                self._add_accuracy(outputs.logits, labels, inputs.get("cu_seq_lens_q"))
        if num_items_in_batch is not None and self.args.average_tokens_across_devices:
            # num_items_in_batch counts every process's tokens; DDP averages gradients over processes
            loss = loss * self.accelerator.num_processes
        if model.training and self._aux_loss is not None:
            loss = loss + self._scaled_aux_loss(num_items_in_batch)
        return (loss, outputs) if return_outputs else loss

    def _sft_loss(self):
        """DFT / EAFT (use_dft_loss / use_eaft_loss, stage sft only: checked at parse time) in place of the
        cross-entropy, or None. They weight each token by its full softmax, so they take the logits path (the
        fused chunked head computes only the cross-entropy); the first call logs that."""
        f = self.lmforge_config.finetuning
        if f.use_dft_loss:
            name, fn = "DFT (use_dft_loss)", dft_loss
        elif f.use_eaft_loss:
            name, fn = f"EAFT (use_eaft_loss, eaft_alpha={f.eaft_alpha})", partial(eaft_loss, alpha=f.eaft_alpha)
        else:
            return None
        if not getattr(self, "_sft_loss_logged", False):
            self._sft_loss_logged = True
            log.info("loss: %s on the model's logits (the fused head computes plain cross-entropy only)", name)
        return fn

    def _add_tokens(self, n: int) -> None:
        self._tokens_since_log += n
        self._tokens_trained += n

    # -- MoE router loss ----------------------------------------------------------------------------------------
    def _router_aux_coef_of(self, model) -> float | None:
        """The router loss coefficient of a MoE model in training (moe_aux_loss_coef, else its config's
        router_aux_loss_coef), as LLaMA-Factory turns output_router_logits on for trainable MoE models; None
        for dense models. moe_aux_loss_coef on a model or stage without a router loss is an error."""
        coef = self.lmforge_config.model.moe_aux_loss_coef
        config = getattr(self.accelerator.unwrap_model(model), "config", None)
        text = config.get_text_config() if hasattr(config, "get_text_config") else config
        is_moe = hasattr(text, "output_router_logits")
        if coef is not None and not is_moe:
            raise ConfigError(f"moe_aux_loss_coef: {coef} but {getattr(text, 'model_type', 'this model')} has no "
                              "router (not a mixture-of-experts model); remove moe_aux_loss_coef")
        if coef is not None and not self.ROUTER_AUX_LOSS:
            raise ConfigError(f"moe_aux_loss_coef: {coef} with stage={self.lmforge_config.finetuning.stage}; the "
                              "router loss is added to the pt and sft losses only; remove moe_aux_loss_coef")
        if not (is_moe and self.ROUTER_AUX_LOSS):
            return None
        return coef if coef is not None else getattr(text, "router_aux_loss_coef", None)

    def _scaled_aux_loss(self, num_items_in_batch) -> torch.Tensor:
        """coef * the router loss of this micro-batch. It is a per-micro-batch mean, so it is divided by the
        accumulation steps where the Trainer does not divide the loss (num_items_in_batch given), and not
        multiplied by the processes (DDP's gradient mean is the mean we want)."""
        scale = self._router_aux_coef
        if num_items_in_batch is not None:
            scale = scale / getattr(self, "current_gradient_accumulation_steps", self.args.gradient_accumulation_steps)
        return scale * self._aux_loss

    # -- compute_accuracy -------------------------------------------------------------------------------------
    def _add_accuracy(self, logits, labels, cu_seq_lens) -> None:
        with torch.no_grad():
            correct, mask = token_accuracy(logits, labels)
            if cu_seq_lens is not None:  # a padding-free row: one accuracy per packed sequence
                correct, mask = packed_to_rows(correct, cu_seq_lens), packed_to_rows(mask, cu_seq_lens)
            per_sequence = sequence_accuracy(correct, mask)
            self._accuracy[0] += float(per_sequence.sum())
            self._accuracy[1] += per_sequence.numel()

    def evaluation_loop(self, dataloader, description, prediction_loss_only=None, ignore_keys=None,
                        metric_key_prefix="eval"):
        """+ <prefix>_accuracy with compute_accuracy: the mean over evaluated sequences of each one's token
        accuracy (argmax == label over its loss tokens), as LLaMA-Factory's ComputeAccuracy reports it."""
        self._accuracy = [0.0, 0]
        output = super().evaluation_loop(dataloader, description, prediction_loss_only, ignore_keys,
                                         metric_key_prefix)
        if self.lmforge_config.finetuning.compute_accuracy:
            totals = torch.tensor(self._accuracy, dtype=torch.float64, device=self.args.device)
            total, count = self.accelerator.reduce(totals, reduction="sum").tolist()
            if count > 0:
                output.metrics[f"{metric_key_prefix}_accuracy"] = round(total / count, 6)
        return output

    def compute_loss_context_manager(self):
        """Trainer's context around compute_loss (not backward): + activation offload when it is on. Every
        stage's compute_loss runs inside it."""
        stack = super().compute_loss_context_manager()
        if self._offloader is not None and self.model.training and torch.is_grad_enabled():
            stack.enter_context(self._offloader.hooks())
        return stack

    def _loss_head(self, model) -> tuple | None:
        """(decoder, lm_head weight) when the logits are exactly decoder_output @ weight.T, else None.

        Needs: a bias-free nn.Linear head (not LoRA-wrapped), no logit soft-capping or scaling in the
        config, a forward that takes logits_to_keep, and a full (unsharded) weight. The first training
        step also checks the identity numerically on the last position (see _head_fused_loss)."""
        if self._head_loss is False:
            return None
        if self._head is None:
            self._head = self._find_head(model) or ()
            if not self._head:
                self._head_loss = False
                log.info("loss: cross-entropy on the model's logits (this head cannot be fused)")
            elif self._head_loss is None and not torch.cuda.is_available() and self._head[1].shape[0] < 100_000:
                # measured on the 2-core CPU with the 32k-vocabulary quickstart model: the chunked path costs
                # more than the logits it saves; it pays off for large vocabularies and on GPUs (memory)
                self._head_loss, self._head = False, ()
                log.info("loss: cross-entropy on the model's logits (small vocabulary on CPU)")
        return self._head or None

    def _find_head(self, model) -> tuple | None:
        import inspect

        from peft import PeftModel

        inner = self.accelerator.unwrap_model(model)
        if isinstance(inner, PeftModel):
            inner = inner.get_base_model()
        config = getattr(inner, "config", None)
        if any(getattr(config, k, None) for k in ("final_logit_softcapping", "logit_scale", "logits_scaling")):
            return None
        head = inner.get_output_embeddings() if hasattr(inner, "get_output_embeddings") else None
        decoder = getattr(inner, "base_model", inner)
        if type(head) is not torch.nn.Linear or head.bias is not None or decoder is inner:
            return None
        if "logits_to_keep" not in inspect.signature(inner.forward).parameters:
            return None
        text_config = config.get_text_config() if hasattr(config, "get_text_config") else config  # VL: the LM's
        if head.weight.dim() != 2 or head.weight.shape[1] != getattr(text_config, "hidden_size", -1):
            return None  # sharded (FSDP / ZeRO-3) or unusual
        return decoder, head.weight

    def _forward_hidden(self, model, inputs, fused: str) -> torch.Tensor | None:
        """The model's last hidden state for `inputs`, with the head projecting only the last position.
        The first call checks that position's logits == hidden @ lm_head.T; if they differ, the fused head
        is off for good and None is returned (the caller then uses the logits). `fused` names what the
        hidden state is for, in the log line of that check."""
        decoder, weight = self._head
        captured: list = []

        def keep_hidden(module, args, output):
            captured.append(output[0] if isinstance(output, tuple) else output.last_hidden_state)

        handle = decoder.register_forward_hook(keep_hidden)
        try:
            # logits_to_keep=1: the model projects only the last position (checked below, then unused)
            outputs = model(**inputs, use_cache=False, logits_to_keep=1)
        finally:
            handle.remove()
        self._aux_loss = getattr(outputs, "aux_loss", None)
        hidden = captured[-1]
        if not self._head_checked:
            self._head_checked = True
            if not _same_logits(outputs.logits[:, -1], hidden[:, -1], weight):
                log.warning("loss: this model's logits are not decoder output @ lm_head; using its logits")
                self._head_loss, self._head = False, ()
                return None
            log.info("loss: %s, no [tokens, vocab] logits", fused)
        return hidden

    def _head_fused_loss(self, model, inputs, labels, num_items_in_batch):
        liger = self.lmforge_config.model.enable_liger_kernel
        kind = "Liger" if liger else "lmforge chunked"
        hidden = self._forward_hidden(model, inputs, f"fused head + cross-entropy ({kind})")
        if hidden is None:
            return None
        weight = self._head[1]
        if liger:
            return _liger_loss(hidden, weight, labels, num_items_in_batch)
        return chunked_linear_cross_entropy(hidden, weight, labels, num_items_in_batch=num_items_in_batch)

    # -- optimizer -------------------------------------------------------------------------------------------
    def create_optimizer(self, model=None):
        from lmforge.train.optimizers import loraplus_optimizer, muon_optimizer, use_low_rank_optimizer

        f = self.lmforge_config.finetuning
        if self.optimizer is None and f.use_muon:
            self.optimizer = muon_optimizer(self.model, self.args)
        if self.optimizer is None and f.loraplus_lr_ratio is not None:
            self.optimizer = loraplus_optimizer(self.model, self.args, f.loraplus_lr_ratio, f.loraplus_lr_embedding)
        if self.optimizer is None:
            use_low_rank_optimizer(self.args, self.model, f)  # GaLore / APOLLO, through transformers' optimisers
        return super().create_optimizer(model)

    # -- logging ---------------------------------------------------------------------------------------------
    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs:
            now = time.perf_counter()
            tokens = self._tokens_since_log * self.accelerator.num_processes
            if self._last_log_time is not None and now > self._last_log_time:
                logs["tokens_per_second"] = round(tokens / (now - self._last_log_time), 2)
            if self.args.include_num_input_tokens_seen in ("no", False):
                # the Trainer leaves it at 0 then; our count (non-padding tokens) feeds trainer_log.jsonl's
                # total_tokens / throughput and is saved with the checkpoint's trainer state
                self.state.num_input_tokens_seen += tokens
            self._last_log_time, self._tokens_since_log = now, 0
        super().log(logs, start_time)

    def train(self, *args, **kwargs):
        """+ effective_tokens_per_sec in the train metrics with include_effective_tokens_per_second:
        non-padding tokens trained per second per device, LLaMA-Factory's figure (counted on the batches
        actually trained, not estimated from the dataset and the epochs)."""
        self._tokens_trained = 0
        result = super().train(*args, **kwargs)
        if self.lmforge_config.finetuning.include_effective_tokens_per_second:
            tokens = torch.tensor(self._tokens_trained, dtype=torch.float64, device=self.args.device)
            total = float(self.accelerator.reduce(tokens, reduction="sum"))
            runtime = max(result.metrics.get("train_runtime", 0.0), 1e-9)
            result.metrics["effective_tokens_per_sec"] = round(total / runtime / self.accelerator.num_processes, 2)
        return result

    # -- saving ----------------------------------------------------------------------------------------------
    def _save(self, output_dir: str | None = None, state_dict=None) -> None:
        super()._save(output_dir, state_dict)
        if self.args.should_save:
            save_config(self.lmforge_config, Path(output_dir or self.args.output_dir) / CONFIG_NAME)

    def _save_checkpoint(self, model, trial) -> None:
        """Write checkpoint-N under a temporary name and rename it when complete: a kill mid-save leaves
        the previous checkpoint as the newest loadable one, never a half-written folder; a failed save
        (a full disk) is removed and reported in one line."""
        final = Path(self._get_output_dir(trial=trial)) / f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        real_output_dir = self.args.output_dir
        staging = final.parent / ".checkpoint-staging"

        def write():
            # super() writes <output_dir>/checkpoint-N; point output_dir at the staging folder meanwhile
            self.args.output_dir = str(staging)
            try:
                super(LmforgeTrainer, self)._save_checkpoint(model, trial)
            finally:
                self.args.output_dir = real_output_dir

        def needed() -> int:
            previous = checkpoints.checkpoints_by_step(final.parent)
            last = checkpoints.folder_bytes(previous[-1]) if previous else 0
            return max(last, self._estimated_save_bytes(optimizer=True))

        checkpoints.write_staged(staging, write, what=final.name, main=self.args.should_save,
                                 wait=self.accelerator.wait_for_everyone, needed=needed)
        if self.args.should_save:
            if final.exists():  # the same step saved twice (e.g. at the end of training)
                shutil.rmtree(final)
            os.replace(staging / final.name, final)  # a rename within one file system is atomic
            shutil.rmtree(staging, ignore_errors=True)
            best = self.state.best_model_checkpoint
            if best and Path(best).parent == staging:
                self.state.best_model_checkpoint = str(final.parent / Path(best).name)
            checkpoints.rotate_checkpoints(final.parent, self.args.save_total_limit,
                                           self.state.best_model_checkpoint)
        self.accelerator.wait_for_everyone()

    def save_final_model(self) -> None:
        """The trained model (adapter or weights, tokenizer, config) into output_dir, as atomically as a
        checkpoint: written to output_dir/.final-staging, then moved in with the file that makes the folder
        a model (adapter_config.json / config.json) last (checkpoints.publish). A kill mid-save leaves no
        model there (loaders say so), never weights without their tokenizer."""
        out = Path(self.args.output_dir)
        staging = out / ".final-staging"
        checkpoints.write_staged(staging, lambda: self.save_model(str(staging), _internal_call=True),
                                 what=f"the final model to {out}", main=self.args.should_save,
                                 wait=self.accelerator.wait_for_everyone,
                                 needed=lambda: self._estimated_save_bytes(optimizer=False))
        if self.args.should_save:
            checkpoints.publish(staging, out)
        self.accelerator.wait_for_everyone()
        if self.args.push_to_hub:  # what save_model does when called from outside, now on the published folder
            self.push_to_hub(commit_message="Model save", revision=self.args.hub_revision)

    def _estimated_save_bytes(self, optimizer: bool) -> int:
        """About the bytes a save writes: the saved weights (an adapter's trainable ones, else all) and, for
        a checkpoint, the optimizer state. The tokenizer and small files come on top."""
        model = self.accelerator.unwrap_model(self.model)
        adapter = hasattr(model, "peft_config")
        total = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad or not adapter)
        if optimizer and self.optimizer is not None:
            for state in self.optimizer.state.values():
                total += sum(v.numel() * v.element_size() for v in state.values() if torch.is_tensor(v))
        return total


def upcast_lm_head_output(model: torch.nn.Module) -> None:
    """upcast_lmhead_output: the output layer returns float32 logits (its product is still computed in the
    model's dtype, as LLaMA-Factory's hook does): everything after the head (softmax, losses, metrics) sees
    float32. The fused head + cross-entropy path never materialises the logits and computes in float32."""
    head = model.get_output_embeddings()
    if head is None:
        raise ConfigError("upcast_lmhead_output: true but this model has no output layer (lm_head); remove it")
    head.register_forward_hook(lambda module, args, output: output.float())


def _same_logits(logits: torch.Tensor, hidden: torch.Tensor, weight: torch.Tensor) -> bool:
    """Is logits == hidden @ weight.T, up to the rounding of the model's dtype?"""
    with torch.no_grad():
        # in the model's dtype: a float32 copy of a 151k x 4096 head would cost 2.3 GiB (measured)
        ref = (hidden @ weight.T).float()
        err = (logits.float() - ref).abs().max()
        return bool(err <= 0.02 * ref.abs().max().clamp(min=1.0))


def _liger_loss(hidden, weight, labels, num_items_in_batch):
    from liger_kernel.transformers.functional import liger_fused_linear_cross_entropy

    shifted = labels[:, 1:]
    mask = shifted != IGNORE_INDEX
    rows = hidden[:, :-1][mask]  # only positions that carry loss are projected
    total = liger_fused_linear_cross_entropy(rows, weight, shifted[mask], reduction="sum")
    return total / _normaliser(num_items_in_batch, mask.sum())


class JsonlLogCallback(TrainerCallback):
    """Appends every log entry to output_dir/trainer_log.jsonl: LLaMA-Factory's keys (current_steps,
    total_steps, loss, eval_loss, lr, epoch, percentage, elapsed_time, remaining_time, throughput,
    total_tokens, ...; read by its board and by users' tools), then lmforge's (step, every logged value,
    elapsed_s, remaining_s)."""

    def __init__(self, output_dir: str):
        self.path = Path(output_dir) / "trainer_log.jsonl"
        self.start = time.time()
        self.first_step = 0
        self.first_tokens = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.time()
        self.first_step = state.global_step
        self.first_tokens = state.num_input_tokens_seen  # > 0 after a resume

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        elapsed = time.time() - self.start
        done = max(state.global_step - self.first_step, 1)
        remaining = max((state.max_steps - state.global_step) * elapsed / done, 0.0)
        entry: dict[str, Any] = {**self._llamafactory_keys(state, logs, elapsed, remaining),
                                 "step": state.global_step, "total_steps": state.max_steps, **logs,
                                 "elapsed_s": round(elapsed, 2), "remaining_s": round(remaining, 2)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def _llamafactory_keys(self, state, logs, elapsed: float, remaining: float) -> dict[str, Any]:
        from datetime import timedelta

        entry = {"current_steps": state.global_step, "total_steps": state.max_steps, "loss": logs.get("loss"),
                 "eval_loss": logs.get("eval_loss"), "predict_loss": logs.get("predict_loss"),
                 "reward": logs.get("reward"), "accuracy": logs.get("rewards/accuracies"),
                 "lr": logs.get("learning_rate"), "epoch": logs.get("epoch"),
                 "percentage": round(state.global_step / state.max_steps * 100, 2) if state.max_steps else 100,
                 "elapsed_time": str(timedelta(seconds=int(elapsed))),
                 "remaining_time": str(timedelta(seconds=int(remaining)))}
        if state.num_input_tokens_seen:  # non-padding tokens trained (LmforgeTrainer.log counts them)
            entry["throughput"] = round((state.num_input_tokens_seen - self.first_tokens) / max(elapsed, 1e-9), 2)
            entry["total_tokens"] = state.num_input_tokens_seen
        return {k: v for k, v in entry.items() if v is not None}


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
