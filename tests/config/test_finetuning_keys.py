"""Parse-time checks of the training keys of issue 15: a combination that would do nothing is an error that
names the key, its value and what is accepted."""

import sys

import pytest

from lmforge.config import load_config, parse_argv
from lmforge.errors import ConfigError

BASE = ["model_name_or_path=m", "dataset=a"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["stage=dpo", "pref_loss=simpo", "pref_bco_weight=0.5"],
         "pref_bco_weight: 0.5 with stage=dpo, pref_loss=simpo; BCO compares the policy with the reference model"),
        (["stage=sft", "pref_bco_weight=0.5"], "pref_bco_weight: 0.5 with stage=sft"),
        (["stage=dpo", "pref_bco_weight=-1"], "pref_bco_weight: -1.0 is out of range; expected a number >= 0"),
        (["early_stopping_steps=3"], "early_stopping_steps: 3 needs evaluations during training: set eval_strategy"),
        (["early_stopping_steps=3", "val_size=0.1", "eval_strategy=steps"],
         "early_stopping_steps: 3 needs the metric it watches: set metric_for_best_model"),
        (["early_stopping_steps=0", "val_size=0.1", "eval_strategy=steps", "metric_for_best_model=eval_loss"],
         "early_stopping_steps: 0 is out of range; expected an integer >= 1"),
        (["stage=dpo", "compute_accuracy=true"], "compute_accuracy: true with stage=dpo"),
        (["use_dft_loss=true", "use_eaft_loss=true"],
         "use_dft_loss: true and use_eaft_loss: true; these are alternative sft losses: keep one"),
        (["stage=pt", "use_dft_loss=true"], "use_dft_loss: true with stage=pt; it replaces the sft cross-entropy"),
        (["stage=dpo", "use_eaft_loss=true"], "use_eaft_loss: true with stage=dpo"),
        (["use_asft_loss=true"], "ASFT needs a reference model"),
        (["do_train=false", "do_predict=true", "val_size=0.1", "predict_with_generate=true",
          "compute_accuracy=true"], "compute_accuracy: true with predict_with_generate: true"),
        (["swanlab_lark_webhook_url=https://x"], "swanlab_lark_webhook_url: SwanLab's Lark notifications are not"),
        (["swanlab_mode=cloudy"], "swanlab_mode: 'cloudy' is not accepted; choose one of: cloud, local, offline"),
    ],
)
def test_training_key_errors(argv, message):
    with pytest.raises(ConfigError) as info:
        load_config(parse_argv(BASE + argv))
    assert message in str(info.value)


def test_use_swanlab_without_the_package_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "swanlab", None)  # absent, as on an install without the extra
    with pytest.raises(ConfigError, match=r"use_swanlab: true needs the swanlab package: pip install 'lmforge\[swanlab\]'"):
        load_config(parse_argv(BASE + ["use_swanlab=true"]))


def test_valid_combinations_parse():
    cfg = load_config(parse_argv(BASE + ["stage=dpo", "pref_bco_weight=0.5", "early_stopping_steps=2",
                                         "val_size=0.1", "eval_strategy=steps", "load_best_model_at_end=true",
                                         "save_strategy=steps"]))
    assert cfg.finetuning.pref_bco_weight == 0.5 and cfg.finetuning.early_stopping_steps == 2


@pytest.mark.parametrize("extra, gc", [
    ([], True),  # LLaMA-Factory's use_unsloth trains with Unsloth's offloaded checkpointing
    (["disable_gradient_checkpointing=true"], False),
    (["use_reentrant_gc=false"], False),
])
def test_use_unsloth_is_accepted_and_maps_to_offloaded_checkpointing(extra, gc):
    cfg = load_config(parse_argv(BASE + ["use_unsloth=true", *extra]))
    assert cfg.model.use_unsloth and cfg.model.use_unsloth_gc is gc
    assert load_config(parse_argv(BASE)).model.use_unsloth_gc is False
