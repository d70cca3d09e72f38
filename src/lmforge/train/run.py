"""`lmforge train`: set up, train, evaluate, predict, clean up — read top to bottom."""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
from pathlib import Path

from lmforge.config import Config, save_config
from lmforge.errors import ConfigError
from lmforge.logs import setup_logging
from lmforge.train.checkpoints import checkpoints_by_step

log = logging.getLogger("lmforge")

IMPLEMENTED_STAGES = ("pt", "sft", "rm", "dpo", "kto", "grpo")


def check_output_dir(output_dir: str) -> None:
    """output_dir must be a folder lmforge can write to: made when missing, and a file created and removed in
    it (permission bits do not stop root, a read-only mount does; only a real write tells)."""
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output_dir: '{out}' is a file, not a folder; choose another output_dir")
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".lmforge-write-test-", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        reason = e.strerror or str(e)
        raise ConfigError(f"output_dir: cannot write to '{out}' ({reason}); choose a folder you can write to") \
            from None


def resolve_resume(cfg: Config) -> str | None:
    """Resume only when asked. Old checkpoints without resume_from_checkpoint or overwrite_output_dir are an
    error that names both choices (LLaMA-Factory resumes silently there)."""
    out = Path(cfg.training.output_dir)
    resume = cfg.training.resume_from_checkpoint
    ckpts = checkpoints_by_step(out)  # oldest first, by step: checkpoint-26 comes after checkpoint-8
    if resume:
        log.info("resuming from %s", resume)
        return resume
    if ckpts and cfg.training.do_train:
        if not cfg.overwrite_output_dir:
            raise ConfigError(
                f"output_dir '{out}' already holds checkpoints ({ckpts[-1].name}, ...): set "
                f"resume_from_checkpoint: {ckpts[-1]} to continue that run, or overwrite_output_dir: true to "
                "start over (its checkpoints are deleted)")
        for ckpt in ckpts:
            shutil.rmtree(ckpt)
        log.info("overwrite_output_dir: removed %d old checkpoints from %s", len(ckpts), out)
    return None


def _stage_parts(stage: str):
    """stage -> (trainer class, collator class, model head). A stage is a loss and a batch shape."""
    from lmforge.train.collators import KTOCollator, PaddingCollator, PairwiseCollator
    from lmforge.train.preference import DPOTrainer, KTOTrainer, RewardTrainer
    from lmforge.train.rl.grpo import GRPOTrainer, PromptCollator
    from lmforge.train.trainer import LmforgeTrainer

    return {
        "pt": (LmforgeTrainer, PaddingCollator, "lm"),
        "sft": (LmforgeTrainer, PaddingCollator, "lm"),
        "rm": (RewardTrainer, PairwiseCollator, "score"),
        "dpo": (DPOTrainer, PairwiseCollator, "lm"),
        "kto": (KTOTrainer, KTOCollator, "lm"),
        "grpo": (GRPOTrainer, PromptCollator, "lm"),
    }[stage]


def _use_packing(cfg: Config) -> bool:
    """packing (neat_packing is its alias) for pt / sft: padding-free rows, each example attending only to
    itself; for rm, dpo and kto: each batch's sequences in padding-free rows (the same batches, no padding).
    Generation-based evaluation (predict_with_generate) needs padded prompts, so it turns it off."""
    if not cfg.data.packing:  # (the config refuses packing for the stages that cannot pack: PACKING_STAGES)
        return False
    if getattr(cfg.training, "predict_with_generate", False):
        log.warning("packing is off: predict_with_generate evaluates padded prompts")
        return False
    return True


def _pack_splits(splits, cfg: Config, tokenizer):
    """Encoded examples -> packed rows (data/packing.py), train and eval alike."""
    from lmforge.data.packing import pack_dataset

    def pack(ds):
        return pack_dataset(ds, stage=cfg.finetuning.stage, cutoff_len=cfg.data.cutoff_len,
                            eos_token_id=tokenizer.eos_token_id, batch_size=cfg.data.preprocessing_batch_size)

    splits.train = pack(splits.train)
    if isinstance(splits.eval, dict):
        splits.eval = {name: pack(ds) for name, ds in splits.eval.items()}
    else:
        splits.eval = pack(splits.eval)
    if splits.train is not None and hasattr(splits.train, "__len__"):
        log.info("packing: %d rows of at most %d tokens", len(splits.train), cfg.data.cutoff_len)
    return splits


def _reference_model(cfg: Config, tokenizer, packed: bool = False):
    """None when the policy can be its own reference (LoRA: adapter disabled) or no reference is needed."""
    from lmforge.models.adapters import apply_finetuning
    from lmforge.models.loader import load_model
    from lmforge.train.preference import REFERENCE_FREE

    f = cfg.finetuning
    if cfg.finetuning.stage == "dpo" and f.pref_loss in REFERENCE_FREE:
        return None
    adapters = cfg.model.adapter_name_or_path
    if f.ref_model is None and f.finetuning_type == "lora" and (not adapters or f.create_new_adapter):
        return None  # the policy with its (new) adapter disabled is exactly the starting model
    import copy

    ref_cfg = copy.deepcopy(cfg)
    if f.ref_model is not None:
        ref_cfg.model.model_name_or_path = f.ref_model
        ref_cfg.model.adapter_name_or_path = [f.ref_model_adapters] if f.ref_model_adapters else None
        ref_cfg.model.quantization_bit = f.ref_model_quantization_bit
    elif f.finetuning_type != "lora":  # full / freeze: a frozen copy of the starting model
        ref_cfg.model.adapter_name_or_path = None
    # else: LoRA continuing an adapter: the reference is the base with that adapter merged
    ref_cfg.finetuning.finetuning_type = "lora" if ref_cfg.model.adapter_name_or_path else "full"
    model = load_model(ref_cfg, tokenizer, trainable=False, packed=packed)  # it reads the policy's batches
    log.info("reference model: %s", f.ref_model or "a frozen copy of the starting model")
    return apply_finetuning(model, ref_cfg, is_trainable=False)


def _media_setup(cfg: Config, tokenizer):
    """A vision-language template's media plugin and image processor (None for text-only templates)."""
    from lmforge.media import load_media_setup
    from lmforge.models.loader import resolve_model_path

    m = cfg.model
    return load_media_setup(cfg.data.template, resolve_model_path(m.model_name_or_path, m), tokenizer,
                            image_max_pixels=m.image_max_pixels, image_min_pixels=m.image_min_pixels)


def run_training(cfg: Config) -> dict:
    stage = cfg.finetuning.stage
    if stage not in IMPLEMENTED_STAGES:
        raise ConfigError(f"stage: {stage} is not implemented yet; implemented stages: "
                          f"{', '.join(IMPLEMENTED_STAGES)}")
    setup_logging(cfg.training.process_index == 0)
    from transformers import set_seed

    from lmforge.data.loader import load_datasets
    from lmforge.models.adapters import apply_finetuning
    from lmforge.models.loader import load_model, load_tokenizer
    from lmforge.templates import get_template, saved_chat_template
    from lmforge.train.callbacks import config_callbacks
    from lmforge.train.trainer import CONFIG_NAME, JsonlLogCallback, ProgressPostfixCallback

    t = cfg.training
    if t.should_save:
        check_output_dir(t.output_dir)
    resume = resolve_resume(cfg)
    if t.should_save:
        save_config(cfg, Path(t.output_dir) / CONFIG_NAME)
    set_seed(t.seed)

    # -- setup -----------------------------------------------------------------------------------------------
    tokenizer = load_tokenizer(cfg.model)
    template = None
    if stage != "pt" or cfg.data.template or tokenizer.chat_template:
        template = get_template(cfg.data.template, tokenizer, tool_format=cfg.data.tool_format,
                                default_system=cfg.data.default_system)
        tokenizer.chat_template = saved_chat_template(template)  # saved with every checkpoint and the model
    media = _media_setup(cfg, tokenizer)
    if stage == "grpo":  # prompts with the row's columns for the reward functions
        from lmforge.train.rl.data import load_prompt_splits
        from lmforge.train.rl.rewards import load_reward_funcs

        reward_funcs = load_reward_funcs(cfg.finetuning.reward_funcs)  # a bad one fails before the model loads
        splits = load_prompt_splits(cfg, tokenizer, template, stage)
    else:
        splits = load_datasets(cfg, tokenizer, template, stage, media.plugin if media else None)
    trainer_cls, collator_cls, head = _stage_parts(stage)
    packed = _use_packing(cfg)
    if packed and media is not None:
        raise ConfigError(f"packing: true with template: {cfg.data.template}: packing image rows is not "
                          "supported yet (their 3-D RoPE positions would need to restart per example); "
                          "remove packing / neat_packing")
    if packed and stage in ("pt", "sft"):  # rm / dpo / kto keep their batches as they are, only without padding
        splits = _pack_splits(splits, cfg, tokenizer)
    if t.deepspeed:
        # ZeRO-3 partitions the weights as they load (deepspeed.zero.Init): DeepSpeed's process group must
        # exist by then, or each rank sizes its batch for a world of one. Asking for the device sets up
        # torch's; DeepSpeed's communication layer then joins it.
        import deepspeed

        _ = t.device
        deepspeed.init_distributed()
    model = load_model(cfg, tokenizer, trainable=t.do_train, head=head, packed=packed)
    model = apply_finetuning(model, cfg, is_trainable=t.do_train)
    if cfg.model.offload_embedding:
        from lmforge.models.memory import offload_input_embedding

        offload_input_embedding(model)
        log.info("offload_embedding: the input embedding table stays in CPU memory")
    extra = {"ref_model": _reference_model(cfg, tokenizer, packed)} if stage in ("dpo", "kto") else {}
    if stage == "grpo":  # beta 0: no reference model at all
        extra = {"template": template, "reward_funcs": reward_funcs,
                 "ref_model": _reference_model(cfg, tokenizer) if cfg.finetuning.beta > 0 else None}

    if packed:
        from lmforge.train.collators import PackedCollator, PackedKTOCollator, PackedPairwiseCollator

        collator = {"rm": PackedPairwiseCollator, "dpo": PackedPairwiseCollator,
                    "kto": PackedKTOCollator}.get(stage, PackedCollator)()
    else:
        collator = collator_cls(tokenizer.pad_token_id, pad_to_multiple_of=None if t.use_cpu else 8)
    if media is not None:
        from lmforge.media.collate import MediaCollator

        collator = MediaCollator(collator, media)
    # use_unsloth_gc (LLaMA-Factory's name for offloaded checkpointing) -> lmforge's activation offload
    extra["offload_activations"] = cfg.model.use_unsloth_gc
    trainer = trainer_cls(model=model, args=t, train_dataset=splits.train, eval_dataset=splits.eval,
                          data_collator=collator, processing_class=tokenizer, lmforge_config=cfg, **extra)
    if t.should_save:
        trainer.add_callback(JsonlLogCallback(t.output_dir))
    trainer.add_callback(ProgressPostfixCallback(trainer))
    if media is not None:
        from lmforge.media.collate import save_image_processor_callback

        trainer.add_callback(save_image_processor_callback(media))
    for callback in config_callbacks(cfg):  # early_stopping_steps, use_swanlab
        trainer.add_callback(callback)

    # -- train -----------------------------------------------------------------------------------------------
    results: dict = {}
    if t.do_train:
        if cfg.finetuning.precompute_ref_logps and stage == "dpo":
            trainer.train_dataset = trainer.with_reference_logps(trainer.train_dataset)
        train_result = trainer.train(resume_from_checkpoint=resume)
        trainer.save_final_model()  # staged, like checkpoints: never weights without their tokenizer
        if media is not None and trainer.is_world_process_zero():
            media.image_processor.save_pretrained(t.output_dir)  # the folder loads as a whole VL model
        if cfg.finetuning.pissa_convert and trainer.is_world_process_zero():
            from lmforge.models.adapters import save_pissa_converted

            save_pissa_converted(trainer.accelerator.unwrap_model(trainer.model), t.output_dir)
        trainer.save_state()
        trainer.log_metrics("train", train_result.metrics)
        trainer.save_metrics("train", train_result.metrics)
        results["train"] = train_result.metrics
        if cfg.finetuning.plot_loss and trainer.is_world_process_zero():
            from lmforge.train.plots import plot_losses

            for path in plot_losses(t.output_dir):
                log.info("loss plot: %s", path)

    # -- evaluate --------------------------------------------------------------------------------------------
    if t.do_eval and splits.eval is not None and not t.predict_with_generate:
        metrics = trainer.evaluate()
        if "eval_loss" in metrics:
            metrics["eval_perplexity"] = math.exp(min(metrics["eval_loss"], 50))
        trainer.log_metrics("eval", metrics)
        trainer.save_metrics("eval", metrics)
        results["eval"] = metrics

    # -- predict ---------------------------------------------------------------------------------------------
    if t.do_predict:
        if t.predict_with_generate:
            if trainer.is_world_process_zero():
                from lmforge.train.predict import predict_with_generate

                model = trainer.accelerator.unwrap_model(trainer.model)
                results["predict"] = predict_with_generate(model, tokenizer, template, splits.eval, cfg)
        else:
            output = trainer.predict(splits.eval, metric_key_prefix="predict")
            trainer.log_metrics("predict", output.metrics)
            trainer.save_metrics("predict", output.metrics)
            results["predict"] = output.metrics

    if trainer.is_world_process_zero() and t.should_save:
        (Path(t.output_dir) / "data_stats.json").write_text(json.dumps(splits.stats.to_dict(), indent=2))
    return results
