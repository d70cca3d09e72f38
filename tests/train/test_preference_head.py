"""dpo / kto log-probs from the last hidden state through the chunked head (never [tokens, vocab] logits)
== log-probs from the model's logits: one training step each way on a tiny Qwen3 (151k vocabulary)."""

import random

import pytest
import torch
from datasets import Dataset

from lmforge.config import load_config, parse_argv
from lmforge.models.adapters import apply_finetuning
from lmforge.models.loader import load_model, load_tokenizer
from lmforge.train.collators import KTOCollator, PackedPairwiseCollator, PairwiseCollator
from lmforge.train.preference import DPOTrainer, KTOTrainer


def _reply(rng, prompt):
    reply = [rng.randint(10, 5000) for _ in range(rng.randint(3, 20))]
    return prompt + reply, [-100] * len(prompt) + reply


def _pairs(n=6, seed=0):
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        prompt = [rng.randint(10, 5000) for _ in range(rng.randint(2, 12))]
        (c_ids, c_lab), (r_ids, r_lab) = _reply(rng, prompt), _reply(rng, prompt)
        rows.append({"chosen_input_ids": c_ids, "chosen_labels": c_lab, "rejected_input_ids": r_ids,
                     "rejected_labels": r_lab})
    return rows


def _kto_rows(n=6, seed=1):
    pairs = _pairs(n, seed)
    return [{"input_ids": p["chosen_input_ids"], "labels": p["chosen_labels"],
             "kl_input_ids": pairs[(i + 1) % n]["rejected_input_ids"],
             "kl_labels": pairs[(i + 1) % n]["rejected_labels"], "kto_tags": i % 2 == 0}
            for i, p in enumerate(pairs)]


def _step(model_path, tmp_path, stage, head_loss, packed=False, extra=()):
    cfg = load_config(parse_argv([
        f"model_name_or_path={model_path}", "dataset=unused", f"stage={stage}", f"output_dir={tmp_path}",
        "per_device_train_batch_size=3", "gradient_accumulation_steps=2", "max_steps=1", "logging_steps=1",
        "learning_rate=1e-2", "save_strategy=no", "report_to=none", "disable_gradient_checkpointing=true",
        "seed=1", "lora_dropout=0", "lora_target=all", f"packing={str(packed).lower()}", "pref_beta=0.5",
        *extra]))
    tokenizer = load_tokenizer(cfg.model)
    torch.manual_seed(0)
    model = apply_finetuning(load_model(cfg, tokenizer, packed=packed), cfg)
    with torch.no_grad():  # LoRA starts at B = 0 (policy == reference): move B so the rewards are not all 0
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05, generator=torch.Generator().manual_seed(len(name)))
    if stage == "kto":
        rows, collator, cls = _kto_rows(), KTOCollator(tokenizer.pad_token_id), KTOTrainer
    else:
        rows, cls = _pairs(), DPOTrainer
        collator = PackedPairwiseCollator() if packed else PairwiseCollator(tokenizer.pad_token_id)
    data = Dataset.from_dict({k: [r[k] for r in rows] for k in rows[0]})
    trainer = cls(model=model, args=cfg.training, train_dataset=data, data_collator=collator,
                  processing_class=tokenizer, lmforge_config=cfg, head_loss=head_loss)
    trainer.train()
    (log,) = [e for e in trainer.state.log_history if "loss" in e]
    params = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    return log, params, trainer


@pytest.mark.parametrize(("stage", "packed", "extra"), [("dpo", False, ()), ("dpo", True, ("ld_alpha=0.5",)),
                                                        ("kto", False, ())])
def test_log_probs_through_the_chunked_head_equal_the_logits_path(tiny_model, tmp_path, stage, packed, extra):
    path = tiny_model("qwen3")
    plain = _step(path, tmp_path / "a", stage, head_loss=False, packed=packed, extra=extra)
    fused = _step(path, tmp_path / "b", stage, head_loss=None, packed=packed, extra=extra)
    assert fused[2]._head and fused[2]._head_checked  # the chunked head really ran
    assert not plain[2]._head
    (log_a, params_a, _), (log_b, params_b, _) = plain, fused
    assert log_b["loss"] == pytest.approx(log_a["loss"], rel=1e-5)
    assert log_b["grad_norm"] == pytest.approx(log_a["grad_norm"], rel=1e-4)
    keys = ("logps/chosen", "logps/rejected", "rewards/chosen", "rewards/rejected") if stage == "dpo" else \
        ("kl", "logps/chosen", "logps/rejected")
    for key in keys:
        assert log_b[key] == pytest.approx(log_a[key], rel=1e-4, abs=1e-5), key
    if stage == "dpo":  # the mean-logit metric: hidden . mean head row vs the mean of the logits
        assert log_b["logits/chosen"] == pytest.approx(log_a["logits/chosen"], rel=1e-3, abs=1e-5)
    for name, p in params_a.items():
        torch.testing.assert_close(params_b[name], p, rtol=1e-3, atol=1e-4, msg=name)
