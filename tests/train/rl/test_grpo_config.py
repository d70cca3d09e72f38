"""stage grpo's keys: defaults, what is refused at parse time (each message names the key and the fix)."""

import pytest

from lmforge.config import load_config, parse_argv
from lmforge.errors import ConfigError

BASE = ["model_name_or_path=m", "stage=grpo", "dataset=grpo_demo", "reward_funcs=accuracy,format",
        "output_dir=/tmp/unused", "report_to=none"]


def _cfg(*extra, base=BASE):
    return load_config(parse_argv([*base, *extra]))


def test_defaults_sample_from_the_policy_distribution():
    cfg = _cfg()
    f, g = cfg.finetuning, cfg.generation
    assert (f.num_generations, f.loss_type, f.scale_rewards, f.beta, f.num_iterations) == (8, "dapo", "group", 0.0, 1)
    assert f.reward_funcs == ["accuracy", "format"] and f.reward_weights is None
    assert (g.temperature, g.top_p, g.top_k) == (1.0, 1.0, 0)
    kept = _cfg("temperature=0.7", "top_k=20").generation
    assert (kept.temperature, kept.top_p, kept.top_k) == (0.7, 1.0, 20)
    sft = load_config(parse_argv(["model_name_or_path=m", "stage=sft", "dataset=x", "report_to=none"])).generation
    assert sft.temperature == 0.95  # other stages keep LLaMA-Factory's decoding defaults


def test_weights_and_types_parse():
    f = _cfg("reward_weights=1,0.5", "epsilon_high=0.28", "loss_type=dr_grpo", "scale_rewards=none").finetuning
    assert f.reward_weights == [1.0, 0.5] and f.epsilon_high == 0.28 and f.loss_type == "dr_grpo"


@pytest.mark.parametrize("args, message", [
    (["reward_funcs="], "stage: grpo needs reward_funcs"),
    (["reward_funcs=accurcy"], "'accurcy' is not a built-in reward"),
    (["reward_weights=1"], "reward_weights has 1 values but reward_funcs has 2"),
    (["num_generations=1"], "num_generations: 1 is out of range"),
    (["loss_type=ppo"], "loss_type"),
    (["scale_rewards=true"], "scale_rewards"),
    (["beta=-0.1"], "beta: -0.1 is out of range"),
    (["do_sample=false"], "do_sample: false with stage: grpo"),
    (["max_new_tokens=64"], "max_completion_length"),
    (["val_size=0.1"], "stage: grpo does not evaluate"),
    (["streaming=true"], "streaming with stage: grpo"),
    (["packing=true"], "packing with stage=grpo"),
    (["ref_model=other"], "ref_model with beta: 0 in stage grpo"),
])
def test_refused(args, message):
    with pytest.raises(ConfigError, match=message):
        _cfg(*args)


def test_grpo_keys_with_another_stage_are_an_error():
    with pytest.raises(ConfigError, match="num_generations, beta: keys of stage grpo, but stage is dpo"):
        load_config(parse_argv(["model_name_or_path=m", "stage=dpo", "dataset=x", "num_generations=4", "beta=0.1",
                                "report_to=none"]))


def test_a_saved_config_loads_again(tmp_path):
    from lmforge.config import resolved_dict, save_config

    for argv in (BASE + ["beta=0.1", "reward_weights=1,2"],
                 ["model_name_or_path=m", "stage=sft", "dataset=x", "report_to=none"]):
        cfg = load_config(parse_argv(argv))
        saved = save_config(cfg, tmp_path / "lmforge_config.yaml")
        assert resolved_dict(load_config(parse_argv([str(saved)]))) == resolved_dict(cfg)
