"""`lmforge train`: set up, train, evaluate, predict, clean up — read top to bottom."""

from __future__ import annotations

import json
import logging
import math
import shutil
from pathlib import Path

from lmforge.config import Config, save_config
from lmforge.errors import ConfigError

log = logging.getLogger("lmforge")

IMPLEMENTED_STAGES = ("pt", "sft")


def setup_logging(rank_zero: bool = True) -> None:
    import transformers

    level = logging.INFO if rank_zero else logging.WARNING
    logging.basicConfig(format="[%(levelname)s|%(name)s] %(message)s", level=level, force=True)
    transformers.utils.logging.set_verbosity_warning()
    import datasets

    datasets.utils.logging.set_verbosity_warning()


def resolve_resume(cfg: Config) -> str | None:
    """Resume only when asked. Old checkpoints without resume_from_checkpoint or overwrite_output_dir are an
    error that names both choices (LLaMA-Factory resumes silently there)."""
    out = Path(cfg.training.output_dir)
    resume = cfg.training.resume_from_checkpoint
    ckpts = sorted(out.glob("checkpoint-*")) if out.is_dir() else []
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
    from lmforge.templates import get_template
    from lmforge.train.collators import PaddingCollator
    from lmforge.train.trainer import CONFIG_NAME, JsonlLogCallback, LmforgeTrainer, ProgressPostfixCallback

    t = cfg.training
    resume = resolve_resume(cfg)
    if t.should_save:
        save_config(cfg, Path(t.output_dir) / CONFIG_NAME)
    set_seed(t.seed)

    # -- setup -----------------------------------------------------------------------------------------------
    tokenizer = load_tokenizer(cfg.model)
    template = None
    if stage != "pt" or cfg.data.template or tokenizer.chat_template:
        template = get_template(cfg.data.template, tokenizer, tool_format=cfg.data.tool_format)
        tokenizer.chat_template = template.chat_template()  # saved with every checkpoint and the final model
    splits = load_datasets(cfg, tokenizer, template, stage)
    model = load_model(cfg, tokenizer, trainable=t.do_train)
    model = apply_finetuning(model, cfg, is_trainable=t.do_train)

    collator = PaddingCollator(tokenizer.pad_token_id, pad_to_multiple_of=8 if t.do_train and not t.use_cpu else None)
    trainer = LmforgeTrainer(model=model, args=t, train_dataset=splits.train, eval_dataset=splits.eval,
                             data_collator=collator, processing_class=tokenizer, lmforge_config=cfg)
    if t.should_save:
        trainer.add_callback(JsonlLogCallback(t.output_dir))
    trainer.add_callback(ProgressPostfixCallback(trainer))

    # -- train -----------------------------------------------------------------------------------------------
    results: dict = {}
    if t.do_train:
        train_result = trainer.train(resume_from_checkpoint=resume)
        trainer.save_model()
        trainer.save_state()
        trainer.log_metrics("train", train_result.metrics)
        trainer.save_metrics("train", train_result.metrics)
        results["train"] = train_result.metrics
        if cfg.finetuning.plot_loss and trainer.is_world_process_zero():
            from lmforge.train.plots import plot_losses

            for path in plot_losses(t.output_dir):
                log.info("loss plot: %s", path)

    # -- evaluate --------------------------------------------------------------------------------------------
    if t.do_eval and splits.eval is not None:
        metrics = trainer.evaluate()
        if "eval_loss" in metrics:
            metrics["eval_perplexity"] = math.exp(min(metrics["eval_loss"], 50))
        trainer.log_metrics("eval", metrics)
        trainer.save_metrics("eval", metrics)
        results["eval"] = metrics

    if trainer.is_world_process_zero() and t.should_save:
        (Path(t.output_dir) / "data_stats.json").write_text(json.dumps(splits.stats, indent=2, default=str))
    return results
