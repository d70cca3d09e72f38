"""rm, dpo (sigmoid / orpo / simpo) and kto on the bundled tiny model and the demo preference data: a few
dozen steps raise the chosen-vs-rejected margin (or accuracy) on the training pairs."""

import json
from pathlib import Path

import pytest

from lmforge.config import load_config, parse_argv
from lmforge.train.run import run_training

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "examples" / "tiny-phi3"

pytestmark = pytest.mark.slow


def _train(tmp_path, stage, dataset, *extra):
    out = tmp_path / stage
    cfg = load_config(parse_argv([
        f"model_name_or_path={TINY}", f"stage={stage}", f"dataset={dataset}", f"dataset_dir={REPO / 'data'}",
        "template=phi", f"output_dir={out}", "max_samples=16", "cutoff_len=160", "max_steps=32",
        "per_device_train_batch_size=4", "logging_steps=1", "save_strategy=no", "report_to=none",
        "disable_gradient_checkpointing=true", "lr_scheduler_type=constant", "seed=3", *extra]))
    run_training(cfg)
    return [json.loads(line) for line in (out / "trainer_log.jsonl").read_text().splitlines()]


def _mean(entries, key):
    values = [e[key] for e in entries if key in e]
    assert values, f"{key} was not logged"
    return sum(values) / len(values)


@pytest.mark.parametrize("pref_loss", ["sigmoid", "orpo", "simpo"])
def test_dpo_family_raises_the_margin(tmp_path, pref_loss):
    log = _train(tmp_path, "dpo", "dpo_en_demo", f"pref_loss={pref_loss}", "learning_rate=5e-3", "pref_beta=0.5")
    steps = [e for e in log if "loss" in e]
    assert len(steps) == 32
    first, last = steps[:4], steps[-4:]
    assert _mean(last, "rewards/margins") > _mean(first, "rewards/margins") + 0.05
    assert _mean(last, "rewards/accuracies") > 0.5
    if pref_loss == "sigmoid":  # LoRA starts at B = 0: the policy equals its reference on step 1
        assert abs(steps[0]["rewards/margins"]) < 1e-5


def test_reward_model_learns_the_preference(tmp_path):
    log = _train(tmp_path, "rm", "dpo_en_demo", "learning_rate=5e-3")
    steps = [e for e in log if "loss" in e]
    first, last = steps[:4], steps[-4:]
    assert _mean(last, "rewards/margins") > _mean(first, "rewards/margins") + 0.05
    assert _mean(last, "rewards/accuracies") > 0.6
    saved = tmp_path / "rm"
    config = json.loads((saved / "adapter_config.json").read_text())
    assert config["task_type"] == "SEQ_CLS"  # the score head is saved with the adapter


def test_kto_separates_desirable_from_undesirable(tmp_path):
    log = _train(tmp_path, "kto", "kto_en_demo", "learning_rate=5e-3", "pref_beta=0.5")
    steps = [e for e in log if "loss" in e]
    early = [e for e in steps[:8]]
    late = [e for e in steps[-8:]]

    def gap(entries):
        return _mean(entries, "rewards/chosen") - _mean(entries, "rewards/rejected")

    assert gap(late) > gap(early) + 0.05


def test_ld_alpha_desensitizes_the_longer_reply(tmp_path):
    """On step 1 the LoRA policy equals its reference; with ld_alpha the policy's log-probs drop the
    weight of the longer reply's tail, so the logged margins are no longer zero."""
    plain = _train(tmp_path / "plain", "dpo", "dpo_en_demo", "max_steps=1", "learning_rate=1e-3")
    ld = _train(tmp_path / "ld", "dpo", "dpo_en_demo", "max_steps=1", "learning_rate=1e-3", "ld_alpha=0.3")
    assert abs(plain[0]["rewards/margins"]) < 1e-5
    assert abs(ld[0]["rewards/margins"]) > 1e-3
    assert ld[0]["logps/chosen"] != pytest.approx(plain[0]["logps/chosen"])


def test_precomputed_reference_logps_give_the_same_training(tmp_path, capfd):
    """precompute_ref_logps: one reference pass before training gives the same losses as a reference forward
    pass every step (the reference does not change during training)."""
    live = _train(tmp_path / "live", "dpo", "dpo_en_demo", "max_steps=4", "learning_rate=5e-3",
                  "disable_shuffling=true")
    pre = _train(tmp_path / "pre", "dpo", "dpo_en_demo", "max_steps=4", "learning_rate=5e-3",
                 "disable_shuffling=true", "precompute_ref_logps=true")
    assert "precomputed reference log-probs of 16 pairs" in capfd.readouterr().err
    live_loss = [e["loss"] for e in live if "loss" in e]
    pre_loss = [e["loss"] for e in pre if "loss" in e]
    assert len(live_loss) == 4
    assert pre_loss == pytest.approx(live_loss, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("extra", [[], ["ld_alpha=0.3"]])
def test_padding_free_dpo_trains_exactly_like_padded_batches(tmp_path, extra):
    """packing: true for dpo lays each batch's pairs end to end in one row with per-sequence attention: the
    same losses and metrics as padded batches of the same pairs, step by step."""
    args = ["max_steps=3", "learning_rate=5e-3", "disable_shuffling=true", *extra]
    padded = _train(tmp_path / "padded", "dpo", "dpo_en_demo", *args)
    packed = _train(tmp_path / "packed", "dpo", "dpo_en_demo", "packing=true", *args)
    steps = [e for e in padded if "loss" in e]
    packed_steps = [e for e in packed if "loss" in e]
    assert len(steps) == len(packed_steps) == 3
    for a, b in zip(steps, packed_steps, strict=True):
        for key in ("loss", "rewards/margins", "logps/chosen", "logps/rejected", "logits/chosen"):
            # float32 sums in another order; Adam's first updates are near sign(grad), so weights whose gradient
            # is ~0 can move either way and the later steps differ by ~3e-5 in the margins (seen with
            # transformers 5.25). Attention across the packed pairs would move the log-probs by far more.
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-4), key


def test_padding_free_reward_model_trains_exactly_like_padded_batches(tmp_path):
    """rm with packing: true scores each sequence at its last non-pad token of the padding-free row, where
    transformers' classification head reads the padded row: the same losses and rewards."""
    args = ["max_steps=3", "learning_rate=5e-3", "disable_shuffling=true"]
    padded = [e for e in _train(tmp_path / "padded", "rm", "dpo_en_demo", *args) if "loss" in e]
    packed = [e for e in _train(tmp_path / "packed", "rm", "dpo_en_demo", "packing=true", *args) if "loss" in e]
    assert len(padded) == len(packed) == 3
    for a, b in zip(padded, packed, strict=True):
        for key in ("loss", "rewards/chosen", "rewards/rejected", "rewards/margins"):
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=2e-5), key
    assert padded[-1]["rewards/chosen"] != padded[0]["rewards/chosen"]  # the scores moved: the head trains


def test_padding_free_kto_trains_exactly_like_padded_batches(tmp_path):
    args = ["max_steps=3", "learning_rate=5e-3", "pref_beta=0.5", "disable_shuffling=true"]
    padded = [e for e in _train(tmp_path / "padded", "kto", "kto_en_demo", *args) if "loss" in e]
    packed = [e for e in _train(tmp_path / "packed", "kto", "kto_en_demo", "packing=true", *args) if "loss" in e]
    assert len(padded) == len(packed) == 3
    for a, b in zip(padded, packed, strict=True):
        assert a.keys() == b.keys()
        for key in ("loss", "kl", "rewards/chosen", "logps/chosen", "rewards/rejected", "logps/rejected"):
            if key in a:
                assert b[key] == pytest.approx(a[key], rel=1e-4, abs=2e-5), key
    assert any("rewards/chosen" in e for e in padded) and any("rewards/rejected" in e for e in padded)


def test_packed_pairwise_collator_lays_out_chosen_then_rejected():
    from lmforge.train.collators import PackedPairwiseCollator

    features = [{"chosen_input_ids": [1, 2, 3], "chosen_labels": [-100, 2, 3], "rejected_input_ids": [1, 4],
                 "rejected_labels": [-100, 4], "ref_chosen_logps": -1.5, "ref_rejected_logps": -2.5},
                {"chosen_input_ids": [5, 6], "chosen_labels": [5, 6], "rejected_input_ids": [5, 7, 8, 9],
                 "rejected_labels": [-100, 7, 8, 9], "ref_chosen_logps": -3.5, "ref_rejected_logps": -4.5}]
    batch = PackedPairwiseCollator()(features)
    assert batch["input_ids"].tolist() == [[1, 2, 3, 5, 6, 1, 4, 5, 7, 8, 9]]
    assert batch["labels"].tolist() == [[-100, 2, 3, -100, 6, -100, 4, -100, 7, 8, 9]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 0, 1, 0, 1, 0, 1, 2, 3]]
    assert batch["cu_seq_lens_q"].tolist() == [0, 3, 5, 7, 11] and batch["max_length_q"] == 4
    assert batch["ref_logps"].tolist() == [-1.5, -3.5, -2.5, -4.5]
