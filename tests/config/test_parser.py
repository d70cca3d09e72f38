import textwrap

import pytest
import yaml

from lmforge.config import load_config, parse_argv, resolved_dict, save_config
from lmforge.errors import ConfigError

# The shape of LLaMA-Factory's examples/train_lora/qwen3_lora_sft.yaml (its keys and values, comments kept).
LLAMAFACTORY_QWEN3_LORA_SFT = textwrap.dedent("""\
    ### model
    model_name_or_path: Qwen/Qwen3-4B-Instruct-2507
    trust_remote_code: true

    ### method
    stage: sft
    do_train: true
    finetuning_type: lora
    lora_rank: 8
    lora_target: all

    ### dataset
    dataset: identity,alpaca_en_demo
    template: qwen3_nothink
    cutoff_len: 2048
    max_samples: 1000
    overwrite_cache: true
    preprocessing_num_workers: 16
    dataloader_num_workers: 4

    ### output
    output_dir: saves/qwen3-4b/lora/sft
    logging_steps: 10
    save_steps: 500
    plot_loss: true
    overwrite_output_dir: true
    save_only_model: false
    report_to: none  # choices: [none, wandb, tensorboard, swanlab, mlflow]

    ### train
    per_device_train_batch_size: 1
    gradient_accumulation_steps: 8
    learning_rate: 1.0e-4
    num_train_epochs: 3.0
    lr_scheduler_type: cosine
    warmup_ratio: 0.1
    bf16: true
    ddp_timeout: 180000000
    resume_from_checkpoint: null

    ### eval
    # eval_dataset: alpaca_en_demo
    # val_size: 0.1
    # per_device_eval_batch_size: 1
    # eval_strategy: steps
    # eval_steps: 500
    """)


@pytest.fixture
def lf_yaml(tmp_path):
    path = tmp_path / "qwen3_lora_sft.yaml"
    path.write_text(LLAMAFACTORY_QWEN3_LORA_SFT)
    return path


def _as_flags(yaml_text: str) -> list[str]:
    flags = []
    for key, value in yaml.safe_load(yaml_text).items():
        text = "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        flags.append(f"--{key}={text}")
    return flags


def test_llamafactory_config_parses_unchanged(lf_yaml):
    cfg = load_config(parse_argv([str(lf_yaml)]))
    assert cfg.model.model_name_or_path == "Qwen/Qwen3-4B-Instruct-2507"
    assert cfg.model.trust_remote_code is True
    assert cfg.finetuning.stage == "sft" and cfg.finetuning.finetuning_type == "lora"
    assert cfg.finetuning.lora_rank == 8 and cfg.finetuning.lora_alpha == 16  # 2 x rank when unset
    assert cfg.finetuning.lora_target == ["all"]
    assert cfg.data.dataset == ["identity", "alpaca_en_demo"]
    assert cfg.data.template == "qwen3_nothink" and cfg.data.cutoff_len == 2048
    assert cfg.data.packing is False  # unset packing is on for pt only
    assert cfg.training.learning_rate == pytest.approx(1e-4)
    assert cfg.training.warmup_steps == pytest.approx(0.1)  # warmup_ratio carried into transformers 5's key
    assert cfg.training.lr_scheduler_type == "cosine"
    assert cfg.training.report_to == [] or cfg.training.report_to in ("none", ["none"])
    assert cfg.training.ddp_timeout == 180000000
    assert cfg.training.resume_from_checkpoint is None
    assert cfg.overwrite_output_dir is True
    assert cfg.finetuning.plot_loss is True


def test_flags_parse_to_the_same_config(lf_yaml):
    from_file = resolved_dict(load_config(parse_argv([str(lf_yaml)])))
    from_flags = resolved_dict(load_config(parse_argv(_as_flags(LLAMAFACTORY_QWEN3_LORA_SFT))))
    assert from_flags == from_file


def test_three_override_spellings_and_file_precedence(lf_yaml):
    cfg = load_config(parse_argv([str(lf_yaml), "lora_rank=16", "--cutoff_len", "512", "--template=qwen3"]))
    assert cfg.finetuning.lora_rank == 16 and cfg.finetuning.lora_alpha == 32
    assert cfg.data.cutoff_len == 512 and cfg.data.template == "qwen3"


def test_bare_boolean_flag_and_comma_lists():
    raw = parse_argv(["--model_name_or_path=m", "--do_train", "dataset=a, b", "--use_dora", "--stage", "sft"])
    cfg = load_config(raw)
    assert cfg.training.do_train is True and cfg.finetuning.use_dora is True
    assert cfg.data.dataset == ["a", "b"]


def test_json_config(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"model_name_or_path": "m", "dataset": "x", "lora_rank": 4}')
    cfg = load_config(parse_argv([str(path)]))
    assert cfg.finetuning.lora_rank == 4 and cfg.finetuning.lora_alpha == 8


def test_train_defaults_to_do_train():
    cfg = load_config(parse_argv(["model_name_or_path=m", "dataset=x"]))
    assert cfg.training.do_train is True


def test_resolved_config_round_trips(tmp_path, lf_yaml):
    cfg = load_config(parse_argv([str(lf_yaml)]))
    saved = save_config(cfg, tmp_path / "out" / "lmforge_config.yaml")
    again = load_config(parse_argv([str(saved)]))
    assert resolved_dict(again) == resolved_dict(cfg)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["lora_rnak=8"], "unknown key 'lora_rnak'; did you mean 'lora_rank'"),
        (["lora_rank=eight"], "lora_rank: expected an integer, got 'eight'"),
        (["do_train=maybe"], "do_train: expected true or false, got 'maybe'"),
        (["learning_rate=fast"], "learning_rate: expected a number, got 'fast'"),
        (["stage=sftt"], "stage: 'sftt' is not accepted; choose one of: pt, sft, rm, ppo, dpo, kto, grpo; "
                         "did you mean 'sft'"),
        (["pref_loss=dpo"], "pref_loss: 'dpo' is not accepted; choose one of: sigmoid, hinge, ipo"),
        (["lr_scheduler_type=cosinee"], "lr_scheduler_type: 'cosinee' is not accepted"),
        (["lora_rank=0"], "lora_rank: 0 is out of range; expected an integer >= 1"),
        (["lora_dropout=1.5"], "lora_dropout: 1.5 is out of range; expected a number in [0, 1)"),
        (["top_p=0"], "top_p: 0.0 is out of range"),
        (["cutoff_len=-5"], "cutoff_len: -5 is out of range"),
        (["use_badam=true"], "use_badam: not implemented in lmforge yet"),
        (["finetuning_type=full", "quantization_bit=4"], "quantization_bit=4 with finetuning_type=full"),
        (["bf16=true", "fp16=true"], "At most one of fp16 and bf16 can be True"),
        (["mask_history=true", "train_on_prompt=true"], "mask_history and train_on_prompt are both true"),
        (["stage=ppo", "packing=true"], "packing with stage=ppo: packing is available for pt, sft, rm, dpo and kto"),
        (["eval_strategy=steps"], "eval_strategy=steps but there is no evaluation data"),
        (["warmup_ratio=0.1", "warmup_steps=10"], "warmup_ratio and warmup_steps are both set"),
        (["finetuning_type=freeze", "adapter_name_or_path=a"], "adapter_name_or_path is set but"),
        (["mix_strategy=interleave_under", "interleave_probs=0.5"], "interleave_probs has 1 values but dataset "
                                                                    "has 2 names"),
        (["resume_from_checkpoint=/nonexistent/ckpt"], "is not a checkpoint folder"),
        (["stray"], "unexpected argument 'stray'"),
    ],
)
def test_errors_name_key_value_and_accepted(argv, message):
    base = ["model_name_or_path=m", "dataset=a,b"]
    with pytest.raises(ConfigError) as info:
        load_config(parse_argv(base + argv))
    assert message in str(info.value)


def test_missing_model_and_dataset():
    with pytest.raises(ConfigError, match="model_name_or_path is required"):
        load_config(parse_argv(["dataset=a"]))
    with pytest.raises(ConfigError, match="dataset is required for training"):
        load_config(parse_argv(["model_name_or_path=m"]))


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="config file 'nope.yaml' not found"):
        parse_argv(["nope.yaml"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_name_or_path: m\nlora_rank: [8\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: invalid YAML at line \d+, column \d+"):
        parse_argv([str(bad)])
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"lora_rank": 8,}')
    with pytest.raises(ConfigError, match="bad.json: invalid JSON at line 1, column 17"):
        parse_argv([str(bad_json)])
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        parse_argv([str(listy)])


def test_yaml_typed_values_are_checked(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model_name_or_path: m\ndataset: a\nlora_rank: 8.5\n")
    with pytest.raises(ConfigError, match="lora_rank: expected an integer, got 8.5"):
        load_config(parse_argv([str(path)]))
    path.write_text("model_name_or_path: m\ndataset: a\nlearning_rate: 1e-4\n")  # YAML 1.1 reads this as text
    assert load_config(parse_argv([str(path)])).training.learning_rate == pytest.approx(1e-4)


def test_neat_packing_implies_packing_and_pt_packs_by_default():
    cfg = load_config(parse_argv(["model_name_or_path=m", "dataset=a", "neat_packing=true"]))
    assert cfg.data.packing is True
    cfg = load_config(parse_argv(["model_name_or_path=m", "dataset=a", "stage=pt"]))
    assert cfg.data.packing is True
    with pytest.raises(ConfigError, match="neat_packing: true with packing: false"):
        load_config(parse_argv(["model_name_or_path=m", "dataset=a", "neat_packing=true", "packing=false"]))
