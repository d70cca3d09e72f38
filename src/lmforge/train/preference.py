"""Stages rm, dpo (and its family) and kto: the shared loop with a pairwise or KTO loss.

Batches come from PairwiseCollator (B chosen rows, then B rejected rows) or KTOCollator; with packing: true,
from PackedPairwiseCollator / PackedKTOCollator: the same sequences in padding-free rows. The losses are the
pure functions of `losses.py`; this module only computes log-probs / rewards and logs the metrics.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections import defaultdict
from pathlib import Path

import torch

from lmforge.train.losses import (
    LENGTH_AVERAGED_LOSSES,
    bco_loss,
    kto_loss,
    ld_sequence_log_probs,
    linear_token_log_probs,
    mix_bco,
    packed_to_rows,
    pairwise_reward_loss,
    preference_loss,
    reward_accuracy,
    token_log_probs,
)
from lmforge.train.trainer import LmforgeTrainer

REFERENCE_FREE = ("orpo", "simpo", "cpo")
BCO_STATE = "bco_baseline.json"  # in each checkpoint with pref_bco_weight: resume continues the baseline
# what a padding-free batch hands the model (PackedPairwiseCollator, PackedKTOCollator): attention reads the
# sequence bounds
PACKED_KEYS = ("input_ids", "position_ids", "cu_seq_lens_q", "cu_seq_lens_k", "max_length_q", "max_length_k")


class _MetricsMixin:
    """Averages per-step metrics between logging steps and adds them to the log line (train/ and eval_)."""

    def _store(self, metrics: dict[str, torch.Tensor], train: bool) -> None:
        bucket = self._metrics["train" if train else "eval"]
        for k, v in metrics.items():
            bucket[k].append(float(v.detach().float().mean()))

    def log(self, logs, start_time=None):
        split = "train" if "loss" in logs else "eval"
        prefix = "" if split == "train" else "eval_"
        for k, values in self._metrics[split].items():
            if values:
                logs[prefix + k] = round(sum(values) / len(values), 6)
        self._metrics[split].clear()
        super().log(logs, start_time)


class _StageTrainer(_MetricsMixin, LmforgeTrainer):
    ROUTER_AUX_LOSS = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._metrics = {"train": defaultdict(list), "eval": defaultdict(list)}
        # these losses are means over pairs / examples of a micro-batch: the Trainer divides by the
        # accumulation steps (exact when micro-batches have equal sizes)
        self.model_accepts_loss_kwargs = False

    def _count_tokens(self, inputs) -> None:
        if not self.model.training:
            return
        if "attention_mask" in inputs:
            self._add_tokens(int(inputs["attention_mask"].sum()))
        elif "cu_seq_lens_q" in inputs:  # padding-free: every token is real
            self._add_tokens(inputs["input_ids"].numel())

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        with torch.no_grad():
            loss = self.compute_loss(model, dict(inputs))
        return loss.detach(), None, None


class RewardTrainer(_StageTrainer):
    """stage rm: a scalar score per sequence; loss -log sigmoid(r_chosen - r_rejected)."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        inputs.pop("labels", None)
        self._count_tokens(inputs)
        if "cu_seq_lens_q" in inputs:
            scores = self._packed_scores(model, inputs)
        else:
            scores = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).logits.squeeze(-1)
        chosen, rejected = scores.float().chunk(2)
        loss = pairwise_reward_loss(chosen, rejected)
        self._store({"rewards/chosen": chosen, "rewards/rejected": rejected,
                     "rewards/margins": chosen - rejected,
                     "rewards/accuracies": reward_accuracy(chosen, rejected)}, model.training)
        return (loss, {"chosen": chosen, "rejected": rejected}) if return_outputs else loss

    def _packed_scores(self, model, inputs) -> torch.Tensor:
        """A padding-free row's per-sequence scores: the score head's output at each sequence's last token
        that is not the pad token, where transformers' classification models read a padded row's score.
        The model pools one position of the row, so the head's per-token output is caught with a hook."""
        head = _score_head(model)
        caught: list[torch.Tensor] = []
        handle = head.register_forward_hook(lambda module, args, output: caught.append(output))
        try:
            model(**{k: inputs[k] for k in PACKED_KEYS})
        finally:
            handle.remove()
        token_scores = caught[-1][0, :, 0]  # [N]
        ids = inputs["input_ids"][0]
        cu = inputs["cu_seq_lens_q"].to(ids.device, torch.long)
        sequence = torch.repeat_interleave(torch.arange(cu.numel() - 1, device=ids.device), cu[1:] - cu[:-1])
        positions = torch.arange(ids.numel(), device=ids.device)
        pad = self.accelerator.unwrap_model(model).config.get_text_config().pad_token_id
        if pad is not None:  # pad tokens are never the scored position (a sequence of pads only: its first)
            positions = torch.where(ids != pad, positions, cu[sequence])
        last = torch.zeros(cu.numel() - 1, dtype=torch.long, device=ids.device).scatter_reduce(
            0, sequence, positions, reduce="amax", include_self=False)
        return token_scores[last]


def _score_head(model) -> torch.nn.Module:
    """The outermost module named `score` (a sequence-classification model's head; PEFT may wrap it)."""
    named = [(name, m) for name, m in model.named_modules() if name.split(".")[-1] == "score"]
    if not named:
        raise ValueError("packing for rm needs a model with a `score` head (transformers' "
                         "*ForSequenceClassification); set packing: false")
    return min(named, key=lambda item: item[0].count("."))[1]


class DPOTrainer(_StageTrainer):
    """stage dpo with pref_loss sigmoid | hinge | ipo | kto_pair | orpo | simpo | cpo (+ pref_ftx)."""

    def __init__(self, *args, ref_model=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.ref_model = ref_model
        if ref_model is not None:
            self.ref_model = self.prepare_reference(ref_model)
        self.bco_baseline = RunningMean()  # pref_bco_weight: the running mean of the implicit rewards

    def _reference_context(self):
        """Reference log-probs: a separate frozen model, or (LoRA) the policy with its adapter disabled."""
        if self.ref_model is not None:
            return self.ref_model, contextlib.nullcontext()
        unwrapped = self.accelerator.unwrap_model(self.model)
        return self.model, unwrapped.disable_adapter()

    @torch.no_grad()
    def _reference_logps(self, inputs) -> torch.Tensor:
        ref_model, ctx = self._reference_context()
        with ctx:
            return self._logps(ref_model, inputs)[0]

    def with_reference_logps(self, dataset):
        """precompute_ref_logps: one pass of the reference model over the data, before training; the
        log-probs become the columns ref_chosen_logps / ref_rejected_logps that compute_loss reads."""
        from tqdm import tqdm

        if self.lmforge_config.finetuning.pref_loss in REFERENCE_FREE:
            return dataset
        was_training = self.model.training
        self.model.eval()
        chosen, rejected = [], []
        size = self.args.per_device_eval_batch_size
        for start in tqdm(range(0, len(dataset), size), desc="Reference log-probs", unit="batch"):
            rows = [dataset[i] for i in range(start, min(start + size, len(dataset)))]
            batch = self._prepare_inputs(self.data_collator(rows))
            c, r = self._reference_logps(batch).float().cpu().chunk(2)
            chosen += c.tolist()
            rejected += r.tolist()
        self.model.train(was_training)
        logging.getLogger(__name__).info("precomputed reference log-probs of %d pairs", len(chosen))
        return dataset.add_column("ref_chosen_logps", chosen).add_column("ref_rejected_logps", rejected)

    def _logps(self, model, inputs, *, length_desensitized: bool = False):
        """Summed log-probs of each sequence's loss tokens, their counts and mean logits. With ld_alpha set,
        the policy's pair log-probs are LD-DPO's (the tail of the longer reply weighted by ld_alpha).

        Padded batches [2B, T] and padding-free rows (PackedPairwiseCollator: one row, cu_seq_lens) give the
        same numbers: the packed row's per-token values are laid out as the padded batch's (packed_to_rows)."""
        cu = inputs.get("cu_seq_lens_q")
        keys = PACKED_KEYS if cu is not None else ("input_ids", "attention_mask")
        call = {k: inputs[k] for k in keys}
        head = self._fused_head(model)
        hidden = self._forward_hidden(model, call, "log-probs from the last hidden state through the chunked "
                                      "head") if head else None
        if hidden is not None:
            weight = head[1]
            token_logps, token_mask = linear_token_log_probs(hidden, weight, inputs["labels"])
            with torch.no_grad():  # a metric: each position's mean logit is hidden . (the mean row of the head)
                position_means = (hidden[:, :-1] @ self._mean_head_row(weight).to(hidden.dtype)).float()
        else:
            logits = model(**call, use_cache=False).logits
            token_logps, token_mask = token_log_probs(logits, inputs["labels"])
            position_means = logits[:, :-1].detach().mean(-1, dtype=torch.float32)  # no float copy, no grad
        if cu is not None:
            token_logps, token_mask, position_means = (packed_to_rows(x, cu) for x in
                                                       (token_logps, token_mask, position_means))
        ld_alpha = self.lmforge_config.finetuning.ld_alpha
        if length_desensitized and ld_alpha is not None:
            (c_lp, r_lp), (c_m, r_m) = token_logps.chunk(2), token_mask.chunk(2)
            logps = torch.cat(ld_sequence_log_probs(c_lp, c_m, r_lp, r_m, ld_alpha))
        else:
            logps = token_logps.sum(-1)
        counts = token_mask.sum(-1)
        mean_logits = (position_means * token_mask).sum(-1) / counts.clamp(min=1)
        return logps, counts, mean_logits

    def _mean_head_row(self, weight: torch.Tensor) -> torch.Tensor:
        """The frozen head's mean row (float32), computed once: a pass over the whole head otherwise."""
        cached = getattr(self, "_mean_row", None)
        if cached is None or cached[0] is not weight:
            self._mean_row = (weight, weight.detach().mean(0, dtype=torch.float32))
        return self._mean_row[1]

    def _fused_head(self, model) -> tuple | None:
        """(decoder, head weight) when log-probs can come from the last hidden state through the chunked head
        (linear_token_log_probs): a fusable head (the trainer's _loss_head), not training, and `model` the
        policy (a separate reference model reads its own logits)."""
        if self.ref_model is not None and model is self.ref_model:
            return None
        head = self._loss_head(model)
        return None if head is None or head[1].requires_grad else head

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        f = self.lmforge_config.finetuning
        self._count_tokens(inputs)
        logps, counts, mean_logits = self._logps(model, inputs, length_desensitized=True)
        pc, pr = logps.chunk(2)
        nc, nr = counts.chunk(2)
        rc = rr = None
        if "ref_logps" in inputs:
            rc, rr = inputs["ref_logps"].to(logps.device).chunk(2)
        elif f.pref_loss not in REFERENCE_FREE:
            rc, rr = self._reference_logps(inputs).chunk(2)
        losses, chosen_rewards, rejected_rewards = preference_loss(
            pc, pr, rc, rr, loss_type=f.pref_loss, beta=f.pref_beta, label_smoothing=f.dpo_label_smoothing,
            simpo_gamma=f.simpo_gamma, chosen_lengths=nc, rejected_lengths=nr)
        if f.pref_bco_weight > 0:
            losses = mix_bco(losses, self._bco_losses(pc - rc, pr - rr, nc, nr, model.training), f.pref_bco_weight)
        loss = losses.mean()
        if f.pref_ftx > 0:  # SFT on the chosen replies (token-mean NLL), as in RPO / LLaMA-Factory's pref_ftx
            loss = loss + f.pref_ftx * (-(pc / nc.clamp(min=1))).mean()
        lc, lr = mean_logits.chunk(2)
        self._store({"rewards/chosen": chosen_rewards, "rewards/rejected": rejected_rewards,
                     "rewards/accuracies": (chosen_rewards > rejected_rewards).float(),
                     "rewards/margins": chosen_rewards - rejected_rewards,
                     "logps/chosen": pc, "logps/rejected": pr, "logits/chosen": lc, "logits/rejected": lr},
                    model.training)
        return (loss, {"chosen_rewards": chosen_rewards}) if return_outputs else loss


    def _bco_losses(self, chosen_logratios, rejected_logratios, nc, nr, training: bool) -> torch.Tensor:
        """BCO's per-pair term. Rewards are beta * log-ratios (per token for ipo, as its DPO loss compares).
        The baseline moves with training batches only (LLaMA-Factory also moves it while evaluating), and
        takes this batch's mean reward, averaged over processes, before it is used (as TRL's RunningMoments)."""
        f = self.lmforge_config.finetuning
        if f.pref_loss in LENGTH_AVERAGED_LOSSES:
            chosen_logratios, rejected_logratios = chosen_logratios / nc.clamp(min=1), rejected_logratios / nr.clamp(min=1)
        chosen, rejected = f.pref_beta * chosen_logratios, f.pref_beta * rejected_logratios
        if training:
            batch_mean = torch.cat((chosen, rejected)).detach().float().mean()
            self.bco_baseline.update(float(self.accelerator.reduce(batch_mean, reduction="mean")),
                                     self.accelerator.num_processes)
        self._store({"bco/baseline": torch.tensor(self.bco_baseline.mean)}, training)
        return bco_loss(chosen, rejected, self.bco_baseline.mean)


    def _save_optimizer_and_scheduler(self, output_dir: str) -> None:
        super()._save_optimizer_and_scheduler(output_dir)
        if self.lmforge_config.finetuning.pref_bco_weight > 0 and self.args.should_save:
            Path(output_dir, BCO_STATE).write_text(json.dumps(vars(self.bco_baseline)))

    def _load_optimizer_and_scheduler(self, checkpoint: str | None) -> None:
        super()._load_optimizer_and_scheduler(checkpoint)
        saved = Path(checkpoint, BCO_STATE) if checkpoint else None
        if saved is not None and saved.is_file():
            vars(self.bco_baseline).update(json.loads(saved.read_text()))


class RunningMean:
    """Mean of all values seen so far, updated a batch at a time (BCO's reward baseline)."""

    def __init__(self) -> None:
        self.mean, self.count = 0.0, 0

    def update(self, batch_mean: float, batch_count: int = 1) -> float:
        self.count += batch_count
        self.mean += (batch_mean - self.mean) * batch_count / self.count
        return self.mean


class KTOTrainer(DPOTrainer):
    """stage kto: desirable / undesirable single replies, KL reference point from mismatched pairs."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        f = self.lmforge_config.finetuning
        self._count_tokens(inputs)
        keys = ("labels", *(PACKED_KEYS if "cu_seq_lens_q" in inputs else ("input_ids", "attention_mask")))
        main = {k: inputs[k] for k in keys}
        kl = {k: inputs[f"kl_{k}"] for k in keys}
        logps, counts, _ = self._logps(model, main)
        with torch.no_grad():
            kl_logps, _, _ = self._logps(model, kl)
            ref_model, ctx = self._reference_context()
            with ctx:
                ref_logps, _, _ = self._logps(ref_model, main)
                ref_kl_logps, _, _ = self._logps(ref_model, kl)
        desirable = inputs["kto_tags"].bool()
        losses, rewards, kl_value = kto_loss(
            logps, ref_logps, kl_logps, ref_kl_logps, desirable, f.pref_beta,
            desirable_weight=f.kto_chosen_weight, undesirable_weight=f.kto_rejected_weight)
        loss = losses.mean()
        if f.pref_ftx > 0 and desirable.any():
            loss = loss + f.pref_ftx * (-(logps[desirable] / counts[desirable].clamp(min=1))).mean()
        metrics = {"kl": kl_value}
        if desirable.any():
            metrics["rewards/chosen"] = rewards[desirable]
            metrics["logps/chosen"] = logps[desirable]
        if (~desirable).any():
            metrics["rewards/rejected"] = rewards[~desirable]
            metrics["logps/rejected"] = logps[~desirable]
        self._store(metrics, model.training)
        return (loss, {"rewards": rewards}) if return_outputs else loss
