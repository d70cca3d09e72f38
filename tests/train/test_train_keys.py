"""Training keys that used to be accepted and ignored (issue 15): compute_accuracy,
include_effective_tokens_per_second, trainer_log.jsonl's LLaMA-Factory keys, upcast_lmhead_output,
moe_aux_loss_coef, early_stopping_steps and pref_bco_weight, each checked on a real tiny model (use_swanlab:
tests/swanlab)."""

import json
import math
import random
from pathlib import Path

import pytest
import torch
from datasets import Dataset

from lmforge.config import load_config, parse_argv
from lmforge.errors import ConfigError
from lmforge.models.adapters import apply_finetuning
from lmforge.models.loader import load_model, load_tokenizer
from lmforge.train.collators import PaddingCollator
from lmforge.train.losses import causal_lm_loss
from lmforge.train.run import run_training
from lmforge.train.trainer import JsonlLogCallback, LmforgeTrainer

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "examples" / "tiny-phi3"

pytestmark = pytest.mark.slow


def _rows(n=8, seed=0):
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        length = rng.randint(6, 30)
        ids = [rng.randint(10, 5000) for _ in range(length)]
        prompt = rng.randint(1, length - 2)
        rows.append({"input_ids": ids, "labels": [-100] * prompt + ids[prompt:]})
    return rows


def _trainer(model_path, tmp_path, *extra, model=None):
    cfg = load_config(parse_argv([
        f"model_name_or_path={model_path}", "dataset=unused", f"output_dir={tmp_path}", "max_steps=2",
        "per_device_train_batch_size=4", "per_device_eval_batch_size=3", "logging_steps=1", "save_strategy=no",
        "report_to=none", "disable_gradient_checkpointing=true", "seed=1", *extra]))
    tokenizer = load_tokenizer(cfg.model)
    if model is None:
        model = apply_finetuning(load_model(cfg, tokenizer), cfg)
    # pad to a multiple of 8: batches carry padding, which the token counts must leave out
    collator = PaddingCollator(tokenizer.pad_token_id, pad_to_multiple_of=8)
    rows = _rows()
    return LmforgeTrainer(model=model, args=cfg.training, train_dataset=Dataset.from_list(rows),
                          eval_dataset=Dataset.from_list(rows), data_collator=collator, processing_class=tokenizer,
                          lmforge_config=cfg), rows


def test_compute_accuracy_is_the_mean_per_sequence_token_accuracy(tiny_model, tmp_path):
    trainer, rows = _trainer(tiny_model("qwen3"), tmp_path, "compute_accuracy=true")
    metrics = trainer.evaluate()
    model = trainer.model.eval()
    want = []
    with torch.no_grad():
        for row in rows:  # one unpadded sequence at a time: independent of batching and padding
            logits = model(input_ids=torch.tensor([row["input_ids"]])).logits[0]
            pairs = [(int(logits[t].argmax()), y) for t, y in enumerate(row["labels"][1:]) if y != -100]
            want.append(sum(p == y for p, y in pairs) / len(pairs))
    assert metrics["eval_accuracy"] == pytest.approx(sum(want) / len(want), abs=1e-6)


def test_effective_tokens_per_second_counts_real_tokens(tiny_model, tmp_path):
    trainer, rows = _trainer(tiny_model("qwen3"), tmp_path, "include_effective_tokens_per_second=true")
    metrics = trainer.train().metrics
    real_tokens = sum(len(r["input_ids"]) for r in rows)  # 2 steps x 4 rows: every row once
    assert metrics["effective_tokens_per_sec"] * metrics["train_runtime"] == pytest.approx(real_tokens, rel=0.02)


def test_trainer_log_has_llamafactory_keys(tiny_model, tmp_path):
    trainer, rows = _trainer(tiny_model("qwen3"), tmp_path)
    trainer.add_callback(JsonlLogCallback(str(tmp_path)))
    trainer.train()
    entries = [json.loads(line) for line in (tmp_path / "trainer_log.jsonl").read_text().splitlines()]
    steps = [e for e in entries if "loss" in e and "train_runtime" not in e]
    assert [e["current_steps"] for e in steps] == [1, 2]
    last = steps[-1]
    assert last["total_steps"] == 2 and last["percentage"] == 100.0 and last["epoch"] == pytest.approx(1.0)
    assert last["lr"] == last["learning_rate"] and last["step"] == 2
    assert last["total_tokens"] == sum(len(r["input_ids"]) for r in rows)  # non-padding tokens of both steps
    assert last["throughput"] > 0
    h, m, s = (int(x) for x in last["elapsed_time"].split(":"))  # H:MM:SS as LLaMA-Factory writes it
    assert 0 <= h * 3600 + m * 60 + s <= last["elapsed_s"] + 1 and ":" in last["remaining_time"]


def test_upcast_lmhead_output_gives_float32_logits(tiny_model, tmp_path):
    ids = torch.tensor([_rows(1)[0]["input_ids"]])
    for upcast, dtype in ((True, torch.float32), (False, torch.bfloat16)):
        trainer, _ = _trainer(tiny_model("qwen3"), tmp_path / str(upcast), f"upcast_lmhead_output={upcast}",
                              "finetuning_type=full")
        model = trainer.model.to(torch.bfloat16)
        assert model(input_ids=ids).logits.dtype == dtype


def _tiny_moe(vocab_size):
    from transformers import Qwen3MoeConfig, Qwen3MoeForCausalLM

    torch.manual_seed(0)
    config = Qwen3MoeConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, moe_intermediate_size=16,
                            num_experts=4, num_experts_per_tok=2, num_hidden_layers=2, num_attention_heads=4,
                            num_key_value_heads=2, head_dim=8, tie_word_embeddings=True)
    return Qwen3MoeForCausalLM(config)


def test_moe_aux_loss_coef_adds_the_router_loss(tiny_model, tmp_path):
    path = tiny_model("qwen3")
    model = _tiny_moe(load_tokenizer(load_config(parse_argv([f"model_name_or_path={path}"]), command="chat").model)
                      .__len__())
    trainer, rows = _trainer(path, tmp_path, "moe_aux_loss_coef=0.5", "finetuning_type=full", model=model)
    batch = trainer.data_collator(rows[:4])
    model.train()
    loss = trainer.compute_loss(model, dict(batch))
    reference = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                      output_router_logits=True)
    ce = causal_lm_loss(reference.logits, batch["labels"])
    assert reference.aux_loss > 0.5  # the load-balancing loss is ~ 1 (num_experts * sum f_i P_i)
    torch.testing.assert_close(loss, ce + 0.5 * reference.aux_loss)


def test_moe_aux_loss_coef_on_a_dense_model_is_an_error(tiny_model, tmp_path):
    with pytest.raises(ConfigError, match="moe_aux_loss_coef: 0.5 but qwen3 has no router"):
        _trainer(tiny_model("qwen3"), tmp_path, "moe_aux_loss_coef=0.5")


def _run(tmp_path, stage, dataset, *extra):
    out = tmp_path / stage
    cfg = load_config(parse_argv([
        f"model_name_or_path={TINY}", f"stage={stage}", f"dataset={dataset}", f"dataset_dir={REPO / 'data'}",
        "template=phi", f"output_dir={out}", "max_samples=16", "cutoff_len=128", "per_device_train_batch_size=4",
        "logging_steps=1", "report_to=none", "disable_gradient_checkpointing=true", "seed=3",
        *(extra if any(e.startswith("save_strategy=") for e in extra) else ("save_strategy=no", *extra))]))
    results = run_training(cfg)
    return results, [json.loads(line) for line in (out / "trainer_log.jsonl").read_text().splitlines()]


def test_early_stopping_steps_stops_when_eval_loss_stalls(tmp_path):
    # a learning rate so small that no weight changes: eval_loss never improves after the first evaluation
    results, _ = _run(tmp_path, "sft", "alpaca_en_demo", "max_steps=10", "learning_rate=1e-30", "val_size=4",
                      "eval_strategy=steps", "eval_steps=1", "metric_for_best_model=eval_loss",
                      "early_stopping_steps=2")
    assert results["train"]["epoch"] < 10 and json.loads((tmp_path / "sft" / "trainer_state.json").read_text())[
        "global_step"] == 3  # the best at step 1, then two evaluations without improvement


def test_pref_bco_weight_mixes_the_bco_term(tmp_path):
    # LoRA starts at B = 0, so on the first step the policy is its reference: every log-ratio and reward is 0,
    # the baseline is 0, the DPO loss is log 2 and BCO's is 2 log 2; with weight 1: (log 2 + 2 log 2) / 2
    _, log = _run(tmp_path, "dpo", "dpo_en_demo", "max_steps=1", "pref_bco_weight=1.0")
    first = [e for e in log if "loss" in e][0]
    assert first["loss"] == pytest.approx(1.5 * math.log(2), abs=1e-4)
    assert first["bco/baseline"] == pytest.approx(0.0, abs=1e-6)


def test_bco_baseline_survives_resume(tmp_path):
    """The baseline is saved with each checkpoint: a run resumed at step 2 logs step 3 as the whole run does."""
    common = ["max_steps=3", "pref_bco_weight=1.0", "learning_rate=5e-3", "pref_beta=0.5", "save_strategy=steps",
              "save_steps=2"]
    _, whole = _run(tmp_path / "whole", "dpo", "dpo_en_demo", *common)
    checkpoint = tmp_path / "whole" / "dpo" / "checkpoint-2"
    assert (checkpoint / "bco_baseline.json").is_file()
    _, resumed = _run(tmp_path / "resumed", "dpo", "dpo_en_demo", *common, f"resume_from_checkpoint={checkpoint}")
    step3 = [[e for e in log if e.get("current_steps") == 3 and "loss" in e][0] for log in (whole, resumed)]
    assert step3[0]["bco/baseline"] != 0.0
    assert step3[1]["bco/baseline"] == pytest.approx(step3[0]["bco/baseline"], rel=1e-5)
    assert step3[1]["loss"] == pytest.approx(step3[0]["loss"], rel=1e-4)


def _weighted_ce_reference(logits, labels, weight_of):
    """sum over loss tokens of weight * -log p(label) / number of loss tokens, a loop in float64."""
    total, count = 0.0, 0
    for row_logits, row_labels in zip(logits.double(), labels, strict=True):
        for t in range(len(row_labels) - 1):
            label = int(row_labels[t + 1])
            if label == -100:
                continue
            log_p = torch.log_softmax(row_logits[t], -1)
            top = torch.topk(row_logits[t], 20).values
            top_log_p = top - torch.logsumexp(top, -1)
            entropy = float(-(top_log_p.exp() * top_log_p).sum())
            total += weight_of(math.exp(float(log_p[label])), entropy) * -float(log_p[label])
            count += 1
    return total / count


@pytest.mark.parametrize("key, weight_of", [
    ("use_dft_loss=true", lambda p, h: p),
    ("use_eaft_loss=true", lambda p, h: h / 3.0),
    ("eaft_alpha=0.5", lambda p, h: (h / 3.0) ** 0.5),
])
def test_sft_loss_variants_log_their_formula_on_step_1(tiny_model, tmp_path, caplog, key, weight_of):
    extra = ["use_eaft_loss=true", key] if key.startswith("eaft_alpha") else [key]
    trainer, rows = _trainer(tiny_model("qwen3"), tmp_path, *extra, "max_steps=1", "per_device_train_batch_size=8")
    batch = trainer.data_collator(rows)  # one step = all 8 rows, so the order does not matter
    with torch.no_grad():
        logits = trainer.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    want = _weighted_ce_reference(logits, batch["labels"], weight_of)
    plain = float(causal_lm_loss(logits, batch["labels"]))
    with caplog.at_level("INFO", logger="lmforge"):
        trainer.train()
    logged = trainer.state.log_history[0]["loss"]
    assert logged == pytest.approx(want, rel=1e-5) and abs(want - plain) > 1e-3  # not the plain cross-entropy
    # the 151k-vocabulary qwen3 model would take the fused head; these losses take the logits path
    assert "on the model's logits (the fused head computes plain cross-entropy only)" in caplog.text


def test_use_unsloth_takes_lmforges_fast_path_and_trains(tiny_model, tmp_path, caplog):
    trainer, _ = _trainer(tiny_model("qwen3"), tmp_path, "use_unsloth=true")  # checkpointing off here
    with caplog.at_level("INFO", logger="lmforge"):
        trainer._report_speed_choices()
        result = trainer.train()
    assert "use_unsloth: lmforge's own fast path, not Unsloth" in caplog.text
    assert "(use_unsloth_gc: off, as gradient checkpointing is off or not reentrant)" in caplog.text
    assert math.isfinite(result.training_loss) and trainer.state.global_step == 2
