"""Packing changes nothing but speed: packed rows give the unpacked loss and gradients.

Each example of a packed row attends only to itself (models/attention.py); on the CPU that runs through
sdpa with a block-diagonal mask or flex attention with a document mask (the GPU backends are checked in
tests/models/test_attention.py on a GPU machine).
"""

import random

import pytest
import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM

from lmforge.config import load_config, parse_argv
from lmforge.data.packing import best_fit_bins, document_positions, pack_dataset, pack_examples
from lmforge.models.adapters import apply_finetuning
from lmforge.models.attention import register_packed_attention
from lmforge.models.loader import load_model, load_tokenizer
from lmforge.train.collators import PackedCollator, PaddingCollator
from lmforge.train.losses import causal_lm_loss
from lmforge.train.trainer import LmforgeTrainer


def _examples(n=8, seed=0, vocab=5000):
    """Variable lengths and numbers of loss tokens (so per-row averaging would differ); every other
    example is trained from its first token on (pt, train_on_prompt), whose first label nobody predicts."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        length = rng.randint(6, 40)
        ids = [rng.randint(10, vocab) for _ in range(length)]
        prompt = 0 if i % 2 else rng.randint(1, length - 2)
        rows.append({"input_ids": ids, "labels": [-100] * prompt + ids[prompt:]})
    return rows


# ---------------------------------------------------------------------------------------------------------
# the data side


def test_best_fit_bins_use_every_example_once_within_capacity():
    rng = random.Random(3)
    for _ in range(50):
        lengths = [rng.randint(1, 64) for _ in range(rng.randint(1, 60))]
        bins = best_fit_bins(lengths, 64)
        assert sorted(i for b in bins for i in b) == list(range(len(lengths)))
        assert all(sum(lengths[i] for i in b) <= 64 for b in bins)
        # best fit never leaves two bins that could be merged into one
        loads = sorted(sum(lengths[i] for i in b) for b in bins)
        assert len(loads) < 2 or loads[0] + loads[1] > 64


def test_pack_examples_keeps_order_and_restarts_positions():
    rows = _examples(8)
    packed = pack_examples([r["input_ids"] for r in rows], [r["labels"] for r in rows], cutoff_len=64)
    assert all(len(ids) <= 64 for ids in packed["input_ids"])
    seen = []
    for ids, labels, pos in zip(packed["input_ids"], packed["labels"], packed["position_ids"], strict=True):
        starts = [i for i, p in enumerate(pos) if p == 0] + [len(ids)]
        for a, b in zip(starts[:-1], starts[1:], strict=True):
            assert pos[a:b] == list(range(b - a))
            seen.append((ids[a:b], labels[a:b]))
    assert sorted(seen) == sorted((r["input_ids"], r["labels"]) for r in rows)


def test_pretrain_blocks_restart_positions_after_eos():
    assert document_positions([5, 6, 2, 7, 8, 9, 2, 4], eos_token_id=2) == [0, 1, 2, 0, 1, 2, 3, 0]


def test_pack_dataset_maps_a_datasets_dataset():
    ds = Dataset.from_list([dict(r, attention_mask=[1] * len(r["input_ids"])) for r in _examples(8)])
    packed = pack_dataset(ds, stage="sft", cutoff_len=64, eos_token_id=None)
    assert set(packed.column_names) == {"input_ids", "labels", "position_ids"}
    assert sum(len(r) for r in packed["input_ids"]) == sum(len(r) for r in ds["input_ids"])


def test_collator_lays_out_one_row_and_masks_each_first_label():
    feats = [{"input_ids": [1, 2, 3, 4, 5], "labels": [1, 2, 3, 4, 5], "position_ids": [0, 1, 0, 1, 2]},
             {"input_ids": [6, 7], "labels": [-100, 7]}]
    batch = PackedCollator()(feats)
    assert batch["input_ids"].tolist() == [[1, 2, 3, 4, 5, 6, 7]]
    assert batch["position_ids"].tolist() == [[0, 1, 0, 1, 2, 0, 1]]
    assert batch["labels"].tolist() == [[-100, 2, -100, 4, 5, -100, 7]]
    assert batch["cu_seq_lens_q"].tolist() == [0, 2, 5, 7]
    assert batch["max_length_q"] == 3


# ---------------------------------------------------------------------------------------------------------
# the loss function level: packed forward == unpacked forward


def _padded_and_packed(rows, pad_id):
    padded = PaddingCollator(pad_id)(rows)
    packed_rows = pack_examples([r["input_ids"] for r in rows], [r["labels"] for r in rows], cutoff_len=4096)
    packed = PackedCollator()([{k: v[i] for k, v in packed_rows.items()} for i in range(len(packed_rows["input_ids"]))])
    return padded, packed


def _loss_and_grads(model, batch, num_items, backward=True):
    model.zero_grad()
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    with torch.set_grad_enabled(backward):
        loss = causal_lm_loss(model(**inputs).logits, batch["labels"], num_items_in_batch=num_items)
    if backward:
        loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("arch", ["qwen3", "llama"])
@pytest.mark.parametrize("backend", ["sdpa", "flex"])
def test_packed_loss_and_grads_equal_unpacked(tiny_model, arch, backend):
    path = tiny_model(arch)
    rows = _examples(6)
    padded, packed = _padded_and_packed(rows, pad_id=0)
    n = int((padded["labels"][:, 1:] != -100).sum())
    assert int((packed["labels"] != -100).sum()) == n  # the same loss tokens, none predicted across examples

    ref_model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float64, attn_implementation="sdpa")
    ref_loss, ref_grads = _loss_and_grads(ref_model, padded, n)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float64,
                                                 attn_implementation=register_packed_attention(backend))
    backward = backend != "flex"  # FlexAttention has no backward on the CPU (its gradients: GPU test)
    loss, grads = _loss_and_grads(model, packed, n, backward=backward)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-10, atol=1e-12)
    if not backward:
        return
    assert grads.keys() == ref_grads.keys()
    for name in grads:
        torch.testing.assert_close(grads[name], ref_grads[name], rtol=1e-8, atol=1e-10, msg=name)


def test_cross_example_attention_would_change_the_loss(tiny_model):
    """The same packed row through plain sdpa with an all-ones mask (no isolation) gives another loss,
    so the equality above is evidence of isolation."""
    path = tiny_model("qwen3")
    padded, packed = _padded_and_packed(_examples(6), pad_id=0)
    n = int((padded["labels"][:, 1:] != -100).sum())
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float64, attn_implementation="sdpa")
    ref, ref_grads = _loss_and_grads(model, padded, n)
    leaky = {"input_ids": packed["input_ids"], "labels": packed["labels"], "position_ids": packed["position_ids"],
             "attention_mask": torch.ones_like(packed["input_ids"])}
    loss, grads = _loss_and_grads(model, leaky, n)
    # a random tiny model predicts nearly uniformly, so the loss moves little, but far beyond the 1e-10 above
    assert abs(float(loss - ref)) > 1e-7
    worst = max(float((grads[k] - ref_grads[k]).norm() / ref_grads[k].norm()) for k in ref_grads)
    assert worst > 1e-3


# ---------------------------------------------------------------------------------------------------------
# full training steps through LmforgeTrainer


def _train(model_path, tmp_path, rows, *, packed, batch, accum, finetuning_type="lora", head_loss=None,
           gradient_checkpointing=False):
    cfg = load_config(parse_argv([
        f"model_name_or_path={model_path}", "dataset=unused", f"finetuning_type={finetuning_type}",
        f"output_dir={tmp_path}", f"per_device_train_batch_size={batch}", f"gradient_accumulation_steps={accum}",
        "max_steps=1", "logging_steps=1", "learning_rate=1e-2", "save_strategy=no", "report_to=none",
        f"disable_gradient_checkpointing={str(not gradient_checkpointing).lower()}", "seed=1", "lora_dropout=0",
        "dataloader_drop_last=false", f"packing={str(packed).lower()}", "cutoff_len=128",
        "lora_target=all", "use_reentrant_gc=false",
    ]))
    tokenizer = load_tokenizer(cfg.model)
    torch.manual_seed(0)
    model = apply_finetuning(load_model(cfg, tokenizer, packed=packed), cfg)
    if packed:
        data = pack_examples([r["input_ids"] for r in rows], [r["labels"] for r in rows], cfg.data.cutoff_len)
        collator = PackedCollator()
    else:
        data, collator = {k: [r[k] for r in rows] for k in rows[0]}, PaddingCollator(tokenizer.pad_token_id)
    trainer = LmforgeTrainer(model=model, args=cfg.training, train_dataset=Dataset.from_dict(data),
                             data_collator=collator, processing_class=tokenizer, lmforge_config=cfg,
                             head_loss=head_loss)
    trainer.train()
    (log,) = [e for e in trainer.state.log_history if "loss" in e]
    params = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    return log, params, trainer


def _assert_same_step(a, b):
    (log_a, params_a, _), (log_b, params_b, _) = a, b
    assert log_a["loss"] == pytest.approx(log_b["loss"], rel=1e-5)
    assert log_a["grad_norm"] == pytest.approx(log_b["grad_norm"], rel=1e-4)
    for name, p in params_a.items():
        # Adam divides by sqrt(v): float32 summation-order noise in tiny gradients shows up as ~1e-5
        torch.testing.assert_close(params_b[name], p, rtol=1e-3, atol=1e-4, msg=name)


@pytest.mark.parametrize("arch", ["qwen3", "llama"])
def test_training_step_packed_equals_unpacked(tiny_model, tmp_path, arch):
    """One optimizer step over the same 8 examples: padded batch of 8 vs all packed rows in one batch,
    the packed run with gradient checkpointing (the varlen arguments must pass through it)."""
    path, rows = tiny_model(arch), _examples(8)
    n_rows = len(pack_examples([r["input_ids"] for r in rows], [r["labels"] for r in rows], 128)["input_ids"])
    assert n_rows > 1
    unpacked = _train(path, tmp_path / "a", rows, packed=False, batch=8, accum=1)
    packed = _train(path, tmp_path / "b", rows, packed=True, batch=n_rows, accum=1, gradient_checkpointing=True)
    _assert_same_step(unpacked, packed)


def test_gradient_accumulation_stays_exact_with_packing(tiny_model, tmp_path):
    """Packed rows one per micro-batch, accumulated, == the padded batch of all 8 examples."""
    path, rows = tiny_model("qwen3"), _examples(8, seed=1)
    n_rows = len(pack_examples([r["input_ids"] for r in rows], [r["labels"] for r in rows], 128)["input_ids"])
    assert n_rows > 1
    unpacked = _train(path, tmp_path / "a", rows, packed=False, batch=8, accum=1)
    packed = _train(path, tmp_path / "b", rows, packed=True, batch=1, accum=n_rows)
    _assert_same_step(unpacked, packed)


@pytest.mark.parametrize(("arch", "finetuning_type"), [("qwen3", "lora"), ("llama", "lora"), ("qwen3", "full")])
def test_fused_head_loss_equals_logits_loss(tiny_model, tmp_path, arch, finetuning_type):
    """The training loss from the last hidden state through chunked linear + cross-entropy (the default)
    == cross-entropy on the model's logits; full fine-tuning of qwen3 also trains its tied head."""
    path, rows = tiny_model(arch), _examples(8, seed=2)
    plain = _train(path, tmp_path / "a", rows, packed=False, batch=4, accum=2, finetuning_type=finetuning_type,
                   head_loss=False)
    fused = _train(path, tmp_path / "b", rows, packed=False, batch=4, accum=2, finetuning_type=finetuning_type)
    assert fused[2]._head and fused[2]._head_checked  # the fused path really ran
    assert not plain[2]._head
    _assert_same_step(plain, fused)


def test_liger_without_liger_or_gpu_is_a_config_error(tiny_model):
    from lmforge.errors import ConfigError
    from lmforge.models.kernels import liger_available

    cfg = load_config(parse_argv([f"model_name_or_path={tiny_model('qwen3')}", "dataset=unused",
                                  "output_dir=/tmp/unused", "enable_liger_kernel=true"]))
    if liger_available() and torch.cuda.is_available():
        pytest.skip("Liger runs here")
    with pytest.raises(ConfigError, match="pip install|CUDA GPU"):
        load_model(cfg, load_tokenizer(cfg.model))
