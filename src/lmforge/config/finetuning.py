"""How the model is trained: stage, method (full / freeze / LoRA family), preference losses, optimisers."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.util import find_spec

from lmforge.config.fields import arg
from lmforge.errors import ConfigError

_LATER = "not implemented in lmforge yet"
_LARK = "SwanLab's Lark notifications are not wired into lmforge; set them up in SwanLab itself"


@dataclass
class FreezeArguments:
    freeze_trainable_layers: int = arg(
        2, "Freeze: train the last n layers (negative: the first -n layers).")
    freeze_trainable_modules: list[str] = arg(
        default_factory=lambda: ["all"],
        help="Freeze: module names trained inside the trainable layers (e.g. mlp,self_attn), or all.")
    freeze_extra_modules: list[str] | None = arg(
        None, "Freeze: modules outside the layers also trained (e.g. embed_tokens,lm_head).")


@dataclass
class LoraArguments:
    additional_target: list[str] | None = arg(
        None, "Modules besides the LoRA layers to train fully and save (e.g. embed_tokens,lm_head).")
    lora_alpha: int | None = arg(None, "LoRA scaling alpha. Unset: 2 x lora_rank.")
    lora_dropout: float = arg(0.0, "Dropout on the LoRA input, in [0, 1).")
    lora_rank: int = arg(8, "LoRA rank (the inner dimension r).")
    lora_target: list[str] = arg(
        default_factory=lambda: ["all"], help="Modules that get LoRA, comma separated; all = every linear layer.")
    loraplus_lr_ratio: float | None = arg(None, "LoRA+: learning-rate ratio of B to A.")
    loraplus_lr_embedding: float = arg(1e-6, "LoRA+: learning rate of LoRA embedding layers.")
    use_rslora: bool = arg(False, "Rank-stabilised LoRA scaling (alpha / sqrt(r)).")
    use_dora: bool = arg(False, "Weight-decomposed LoRA (DoRA).")
    pissa_init: bool = arg(False, "Initialise LoRA with PiSSA (principal singular values).")
    pissa_iter: int = arg(16, "PiSSA fast-SVD iterations; -1 for an exact SVD.")
    pissa_convert: bool = arg(False, "Save the PiSSA adapter converted to a plain LoRA adapter.")
    create_new_adapter: bool = arg(False, "Train a new adapter on top of the loaded (merged) adapters.")


@dataclass
class PreferenceArguments:
    pref_beta: float = arg(0.1, "Beta of the preference loss.")
    pref_ftx: float = arg(0.0, "Weight of the SFT loss on chosen replies added to the preference loss.")
    pref_bco_weight: float = arg(
        0.0, "dpo: weight w of the BCO term (binary classifier on the implicit rewards, against their running "
        "mean) mixed into the preference loss as (loss + w * bco) / (1 + w); 0 = off.")
    pref_loss: str = arg("sigmoid", "Preference loss.",
                         choices=["sigmoid", "hinge", "ipo", "kto_pair", "orpo", "simpo", "cpo"])
    dpo_label_smoothing: float = arg(0.0, "Label smoothing of the sigmoid DPO loss, in [0, 0.5].")
    kto_chosen_weight: float = arg(1.0, "KTO weight of desirable examples.")
    kto_rejected_weight: float = arg(1.0, "KTO weight of undesirable examples.")
    simpo_gamma: float = arg(0.5, "Target reward margin of SimPO.")
    ld_alpha: float | None = arg(None, "LD-DPO alpha for the verbose part of the longer reply.")
    ppo_buffer_size: int = arg(1, "PPO: mini-batches per optimisation step.")
    ppo_epochs: int = arg(4, "PPO: epochs per optimisation step.")
    ppo_score_norm: bool = arg(False, "PPO: normalise scores.")
    ppo_target: float = arg(6.0, "PPO: target KL for adaptive KL control.")
    ppo_whiten_rewards: bool = arg(False, "PPO: whiten rewards.")
    precompute_ref_logps: bool = arg(
        False, "dpo: compute the reference log-probs once, before training, instead of a reference forward "
        "pass every step (lmforge extension; faster when the data is seen more than once).")
    ref_model: str | None = arg(None, "Reference model for DPO/KTO/PPO (default: the policy without adapters).")
    ref_model_adapters: str | None = arg(None, "Adapters of the reference model.")
    ref_model_quantization_bit: int | None = arg(None, "Quantisation bits of the reference model.")
    reward_model: str | None = arg(None, "Reward model for PPO.")
    reward_model_adapters: str | None = arg(None, "Adapters of the reward model.")
    reward_model_quantization_bit: int | None = arg(None, "Quantisation bits of the reward model.")
    reward_model_type: str = arg("lora", "Kind of reward model.", choices=["lora", "full", "api"])


@dataclass
class GRPOArguments:
    """stage grpo (LLaMA-Factory has no GRPO keys; these are TRL's GRPOConfig names). Sampling reads
    temperature / top_p / top_k / repetition_penalty; for stage grpo temperature and top_p default to 1.0 and
    top_k to 0 (the policy's own distribution, which the loss's log-probs assume)."""
    num_generations: int = arg(8, "grpo: completions sampled per prompt (one group; >= 2).")
    max_completion_length: int = arg(256, "grpo: most tokens generated per completion (dr_grpo's normaliser).")
    beta: float = arg(0.0, "grpo: weight of the KL penalty to the reference model (k3 estimator); 0 = no "
                           "reference model and no reference forward pass.")
    epsilon: float = arg(0.2, "grpo: clipping range of the importance ratio, lower side (1 - epsilon).")
    epsilon_high: float | None = arg(None, "grpo: upper clipping range (1 + epsilon_high); unset = epsilon "
                                           "(DAPO's clip-higher: e.g. 0.28).")
    num_iterations: int = arg(1, "grpo: optimisation steps on each batch of rollouts (mu); > 1 takes the "
                                 "importance ratio against the sampling policy's log-probs.")
    loss_type: str = arg("dapo", "grpo: loss normalisation. grpo: mean of per-sequence token means; bnpo: token "
                                 "mean of each micro-batch; dr_grpo: sum / (sequences x max_completion_length); "
                                 "dapo: sum / completion tokens of the whole accumulated batch.",
                         choices=["grpo", "bnpo", "dr_grpo", "dapo"])
    scale_rewards: str = arg("group", "grpo: divide advantages by the std of the group, of the batch, or not at "
                                      "all (none, Dr. GRPO).", choices=["group", "batch", "none"])
    reward_funcs: list[str] | None = arg(None, "grpo: reward functions, comma separated: built-in accuracy, "
                                               "format, or package.module:function / path/to/file.py:function.")
    reward_weights: list[float] | None = arg(None, "grpo: weight of each reward function (default: 1 each).")


@dataclass
class OptimizerArguments:
    use_galore: bool = arg(False, "GaLore: full-parameter training whose optimiser keeps its state in a low-rank "
                                  "projection of each target matrix's gradient (pip install 'lmforge[galore]').")
    galore_target: list[str] = arg(default_factory=lambda: ["all"], help="GaLore target modules: names of linear "
                                   "layers, or all (every linear layer but the output head).")
    galore_rank: int = arg(16, "GaLore rank.")
    galore_update_interval: int = arg(200, "Steps between GaLore's projection updates.")
    galore_scale: float = arg(2.0, "GaLore scale (multiplies the projected update).")
    galore_proj_type: str = arg("std", "GaLore projection type.",
                                choices=["std", "reverse_std", "right", "left", "full"])
    galore_layerwise: bool = arg(False, "Layer-wise GaLore updates: each parameter updated as soon as its gradient "
                                        "is ready (less memory; no gradient accumulation, single process).")
    use_apollo: bool = arg(False, "APOLLO: full-parameter training with AdamW-like updates scaled from a low-rank "
                                  "random projection of the gradient (pip install 'lmforge[apollo]').")
    apollo_target: list[str] = arg(default_factory=lambda: ["all"], help="APOLLO target modules: names of linear "
                                   "layers, or all (every linear layer but the output head).")
    apollo_rank: int = arg(16, "APOLLO rank.")
    apollo_update_interval: int = arg(200, "APOLLO projection update interval.")
    apollo_scale: float = arg(32.0, "APOLLO scale.")
    apollo_proj: str = arg("random", "APOLLO projection.", choices=["svd", "random"])
    apollo_proj_type: str = arg("std", "APOLLO projection type.", choices=["std", "right", "left"])
    apollo_scale_type: str = arg("channel", "APOLLO scale type.", choices=["channel", "tensor"])
    apollo_layerwise: bool = arg(False, "Layer-wise APOLLO updates.")
    apollo_scale_front: bool = arg(False, "Scale the gradient before the norm-growth limiter.",
                                   unsupported="transformers' APOLLO optimiser does not take it")
    use_badam: bool = arg(False, "BAdam optimiser.", unsupported=_LATER)
    badam_mode: str = arg("layer", "BAdam mode.", choices=["layer", "ratio"])
    badam_start_block: int | None = arg(None, "BAdam first block.")
    badam_switch_mode: str = arg("ascending", "BAdam block switch order.",
                                 choices=["ascending", "descending", "random", "fixed"])
    badam_switch_interval: int = arg(50, "BAdam steps between block switches.")
    badam_update_ratio: float = arg(0.05, "BAdam update ratio (ratio mode).")
    badam_mask_mode: str = arg("adjacent", "BAdam mask mode.", choices=["adjacent", "scatter"])
    badam_verbose: int = arg(0, "BAdam verbosity (0, 1, 2).")
    use_adam_mini: bool = arg(False, "Adam-mini optimiser.", unsupported=_LATER)
    use_muon: bool = arg(False, "Muon optimiser: the hidden 2-D weight matrices get orthogonalised momentum "
                               "updates (torch.optim.Muon); embeddings, the output head, norms and biases AdamW.")


@dataclass
class FinetuningArguments(FreezeArguments, LoraArguments, PreferenceArguments, GRPOArguments, OptimizerArguments):
    stage: str = arg("sft", "Training stage.", choices=["pt", "sft", "rm", "ppo", "dpo", "kto", "grpo"])
    finetuning_type: str = arg("lora", "Which parameters are trained.", choices=["lora", "oft", "freeze", "full"])
    pure_bf16: bool = arg(False, "Train in pure bf16 (no fp32 master weights, no AMP).")
    use_llama_pro: bool = arg(False, "LLaMA Pro block expansion.", unsupported=_LATER)
    freeze_vision_tower: bool = arg(True, "Multimodal: freeze the vision tower.")
    freeze_multi_modal_projector: bool = arg(True, "Multimodal: freeze the projector.")
    freeze_language_model: bool = arg(False, "Multimodal: freeze the language model.")
    compute_accuracy: bool = arg(False, "Compute token accuracy during evaluation.")
    use_dft_loss: bool = arg(False, "sft: DFT loss, each token's cross-entropy weighted by its (detached) "
                             "probability.")
    use_asft_loss: bool = arg(False, "sft: ASFT loss, DFT plus asft_alpha x KL(reference || policy).",
                              unsupported="ASFT needs a reference model (LLaMA-Factory loads one for it); lmforge "
                              "does not load one for sft yet: use use_dft_loss, or remove it")
    asft_alpha: float = arg(0.1, "sft: weight of ASFT's KL term (use_asft_loss).")
    use_eaft_loss: bool = arg(False, "sft: EAFT loss, each token's cross-entropy weighted by (top-20 "
                              "entropy / 3) ** eaft_alpha, detached.")
    eaft_alpha: float = arg(1.0, "sft: exponent of EAFT's entropy weight (use_eaft_loss).")
    disable_shuffling: bool = arg(False, "Do not shuffle the training data.")
    plot_loss: bool = arg(False, "Save training_loss.png (and eval_loss.png) into output_dir.")
    include_effective_tokens_per_second: bool = arg(False, "Log effective (non-padding) tokens per second.")
    early_stopping_steps: int | None = arg(
        None, "Stop training after this many evaluations in a row without improvement of metric_for_best_model "
        "(transformers' EarlyStoppingCallback patience; needs eval_strategy and metric_for_best_model or "
        "load_best_model_at_end).")
    use_swanlab: bool = arg(False, "Log to SwanLab (pip install 'lmforge[swanlab]').")
    swanlab_project: str | None = arg("lmforge", "SwanLab project.")
    swanlab_workspace: str | None = arg(None, "SwanLab workspace.")
    swanlab_run_name: str | None = arg(None, "SwanLab run (experiment) name.")
    swanlab_mode: str = arg("cloud", "SwanLab mode: cloud (sync to the server), local, offline (write to "
                            "swanlab_logdir only; lmforge extension) or disabled.",
                            choices=["cloud", "local", "offline", "disabled"])
    swanlab_api_key: str | None = arg(None, "SwanLab API key (logs in before the run starts).")
    swanlab_logdir: str | None = arg(None, "Folder of SwanLab's run files (default: SwanLab's, ./swanlog).")
    swanlab_lark_webhook_url: str | None = arg(None, "Lark webhook of SwanLab notifications.", unsupported=_LARK)
    swanlab_lark_secret: str | None = arg(None, "Lark secret of SwanLab notifications.", unsupported=_LARK)


def validate_finetuning(f: FinetuningArguments, training) -> None:
    """Checks of this group's keys against the stage and the training arguments (called by the parser)."""
    if f.pref_bco_weight < 0:
        raise ConfigError(f"pref_bco_weight: {f.pref_bco_weight!r} is out of range; expected a number >= 0")
    if f.pref_bco_weight > 0 and (f.stage != "dpo" or f.pref_loss in ("orpo", "simpo", "cpo")):
        raise ConfigError(f"pref_bco_weight: {f.pref_bco_weight} with stage={f.stage}, pref_loss={f.pref_loss}; "
                          "BCO compares the policy with the reference model: it needs stage: dpo with pref_loss "
                          "sigmoid, hinge, ipo or kto_pair")
    sft_losses = [k for k in ("use_dft_loss", "use_asft_loss", "use_eaft_loss") if getattr(f, k)]
    if len(sft_losses) > 1:
        raise ConfigError(f"{' and '.join(k + ': true' for k in sft_losses)}; these are alternative sft losses: "
                          "keep one")
    if sft_losses and f.stage != "sft":
        raise ConfigError(f"{sft_losses[0]}: true with stage={f.stage}; it replaces the sft cross-entropy (stage: "
                          f"sft only; LLaMA-Factory ignores it in other stages): use stage: sft or remove it")
    if f.compute_accuracy and f.stage not in ("pt", "sft"):
        raise ConfigError(f"compute_accuracy: true with stage={f.stage}; token accuracy is an evaluation metric of "
                          "pt and sft (rm, dpo and kto log rewards/accuracies themselves): remove compute_accuracy")
    if f.compute_accuracy and getattr(training, "predict_with_generate", False):
        raise ConfigError("compute_accuracy: true with predict_with_generate: true; accuracy is read from the "
                          "logits of the labels, generation scores with BLEU / ROUGE: keep one")
    if f.early_stopping_steps is not None:
        _validate_early_stopping(f.early_stopping_steps, training)
    if f.use_swanlab:
        if find_spec("swanlab") is None:
            raise ConfigError("use_swanlab: true needs the swanlab package: pip install 'lmforge[swanlab]'")
        if "swanlab" in (training.report_to or []):
            raise ConfigError("use_swanlab: true with report_to: swanlab would log every step twice; keep "
                              "use_swanlab (it reads the swanlab_* keys) and remove swanlab from report_to")


def _validate_early_stopping(patience: int, training) -> None:
    strategy = getattr(training.eval_strategy, "value", training.eval_strategy)
    if patience < 1:
        raise ConfigError(f"early_stopping_steps: {patience!r} is out of range; expected an integer >= 1 "
                          "(evaluations without improvement)")
    if strategy == "no":
        raise ConfigError(f"early_stopping_steps: {patience} needs evaluations during training: set "
                          "eval_strategy: steps (or epoch) and evaluation data (val_size or eval_dataset)")
    if training.metric_for_best_model is None:  # load_best_model_at_end sets it to loss
        raise ConfigError(f"early_stopping_steps: {patience} needs the metric it watches: set "
                          "metric_for_best_model (e.g. eval_loss) or load_best_model_at_end: true (watches eval_loss)")
