"""Callbacks that config keys ask for: early stopping (early_stopping_steps) and SwanLab (use_swanlab)."""

from __future__ import annotations

from transformers import EarlyStoppingCallback, TrainerCallback

from lmforge.config import Config, resolved_dict

SECRET_KEYS = ("swanlab_api_key", "hf_hub_token", "ms_hub_token")


def config_callbacks(cfg: Config) -> list[TrainerCallback]:
    f = cfg.finetuning
    callbacks: list[TrainerCallback] = []
    if f.early_stopping_steps is not None:
        # patience counts evaluations without improvement of metric_for_best_model (LLaMA-Factory's "steps")
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=f.early_stopping_steps))
    if f.use_swanlab:
        callbacks.append(swanlab_callback(cfg))
    return callbacks


def swanlab_callback(cfg: Config) -> TrainerCallback:
    """SwanLab's own transformers callback (rank 0 logs), configured from the swanlab_* keys, with the
    resolved lmforge config (minus the API key) as the run's config."""
    import swanlab
    from swanlab.integration.transformers import SwanLabCallback

    f = cfg.finetuning
    if f.swanlab_api_key is not None and cfg.training.process_index == 0:
        swanlab.login(api_key=f.swanlab_api_key)
    options = {"project": f.swanlab_project, "workspace": f.swanlab_workspace, "experiment_name": f.swanlab_run_name,
               "mode": f.swanlab_mode, "log_dir": f.swanlab_logdir}
    callback = SwanLabCallback(**{k: v for k, v in options.items() if v is not None})
    config = {k: v for k, v in resolved_dict(cfg).items() if k not in SECRET_KEYS}
    callback.update_config({"framework": "lmforge", "lmforge": config})
    return callback
