"""Training losses as pure functions of tensors: no models, no trainers, no config objects.

Conventions shared by every function here:

- Logits are *unshifted*, as a Hugging Face causal LM returns them: ``logits[:, t]`` predicts
  ``labels[:, t + 1]``. The functions shift internally, so callers pass ``labels`` aligned with
  ``input_ids`` (exactly what ``model(input_ids, labels=labels)`` expects). ``ignore_index`` (-100) marks
  positions without loss; the first label of every row is never predicted and is dropped by the shift.
- Sequence log-probs are *sums* over loss tokens (``sequence_log_probs``). The preference losses that
  need per-token averages (IPO, ORPO, SimPO) take the lengths and divide themselves, so the trainer
  always hands over the same thing.
- Arithmetic happens in float32 at least: bf16/fp16 inputs are upcast, float64 inputs stay float64
  (the tests check against float64 references).
- Losses are returned per example where a batch has examples (preference, KTO) so the trainer chooses
  the reduction; token-level losses (causal LM) return the already-normalised scalar.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from lmforge.errors import did_you_mean

IGNORE_INDEX = -100

PREFERENCE_LOSSES = ("sigmoid", "hinge", "ipo", "kto_pair", "orpo", "simpo", "cpo")
REFERENCE_FREE_LOSSES = ("orpo", "simpo", "cpo")
LENGTH_AVERAGED_LOSSES = ("ipo", "orpo", "simpo")  # compare mean per-token log-probs, not sums
LABEL_SMOOTHED_LOSSES = ("sigmoid", "simpo", "cpo")  # the Bradley-Terry (logistic) losses


def _upcast(x: Tensor) -> Tensor:
    """x in float32, or in float64 if it already is."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def _check_logits_labels(logits: Tensor, labels: Tensor) -> None:
    if logits.dim() != 3 or labels.shape != logits.shape[:2]:
        raise ValueError(
            f"expected logits [B, T, V] and labels [B, T]; got {tuple(logits.shape)} and {tuple(labels.shape)}"
        )


# --------------------------------------------------------------------------------------------------
# Log-probabilities of labels


LOGPROB_CHUNK = 1024  # positions whose log-probs are computed in float32 at once (token_log_probs on bf16/fp16
# logits, linear_token_log_probs)


def token_log_probs(
    logits: Tensor, labels: Tensor, ignore_index: int = IGNORE_INDEX
) -> tuple[Tensor, Tensor]:
    """Per-token log p(label) under unshifted causal-LM logits.

    ``logits`` [B, T, V] and ``labels`` [B, T] are aligned with ``input_ids``; position t of the result is
    ``log softmax(logits[:, t])[labels[:, t + 1]]``. Returns ``(logps, mask)``, both [B, T - 1]: ``mask``
    is True where the label is not ``ignore_index`` and ``logps`` is 0 elsewhere (so sums over a row
    are sums over its loss tokens, and masked positions get no gradient).

    log p = logit[label] - logsumexp(logits): a gather and a reduction, never a [B, T, V] log-softmax.
    """
    _check_logits_labels(logits, labels)
    logits, labels = logits[:, :-1], labels[:, 1:]
    mask = labels != ignore_index
    targets = labels.masked_fill(~mask, 0).unsqueeze(-1)
    if logits.dtype in (torch.float32, torch.float64):
        logps = logits.gather(-1, targets).squeeze(-1) - torch.logsumexp(logits, dim=-1)
    else:
        # bf16/fp16: upcast LOGPROB_CHUNK positions at a time, so a float32 copy of the whole batch's logits
        # never exists at once (a padding-free batch is one row of every sequence)
        rows = []
        for row_logits, row_targets in zip(logits, targets, strict=True):  # slices: no copy of the logits
            parts = []
            for start in range(0, max(row_logits.shape[0], 1), LOGPROB_CHUNK):  # (an empty row: one empty part)
                chunk = row_logits[start:start + LOGPROB_CHUNK].float()
                parts.append(chunk.gather(-1, row_targets[start:start + LOGPROB_CHUNK]).squeeze(-1)
                             - torch.logsumexp(chunk, dim=-1))
            rows.append(torch.cat(parts))
        logps = torch.stack(rows)
    return logps.masked_fill(~mask, 0.0), mask


class _LinearTokenLogProbs(torch.autograd.Function):
    """log softmax(hidden @ weight.T)[n, targets[n]] for each row n, chunk by chunk, for a frozen weight.

    d logp_n / d hidden_n = weight[t_n] - softmax_n @ weight does not depend on the upstream gradient, so it
    is computed in the forward pass while the chunk's logits exist (one chunk of logits at a time, as in
    _LinearCrossEntropy) and scaled by grad_output in backward."""

    @staticmethod
    def forward(ctx, hidden, weight, targets, chunk_size, grad_needed):
        out = torch.empty(hidden.shape[0], dtype=torch.promote_types(hidden.dtype, torch.float32),
                          device=hidden.device)
        jacobian = torch.empty_like(hidden) if grad_needed else None
        for start in range(0, hidden.shape[0], chunk_size):
            h, t = hidden[start:start + chunk_size], targets[start:start + chunk_size]
            logits = _upcast(h @ weight.T)  # as token_log_probs on the model's logits: matmul in its dtype
            lse = torch.logsumexp(logits, dim=-1)
            out[start:start + chunk_size] = logits.gather(-1, t.unsqueeze(-1)).squeeze(-1) - lse
            if grad_needed:
                probs = logits.sub_(lse.unsqueeze(-1)).exp_()  # softmax, in place of the logits
                probs[torch.arange(len(t), device=t.device), t] -= 1.0  # softmax - onehot
                jacobian[start:start + chunk_size] = -(probs.to(hidden.dtype) @ weight)
        ctx.save_for_backward(jacobian)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (jacobian,) = ctx.saved_tensors
        grad_hidden = None if jacobian is None else (grad_output.unsqueeze(-1) * jacobian).to(jacobian.dtype)
        return grad_hidden, None, None, None, None


def linear_token_log_probs(
    hidden: Tensor, weight: Tensor, labels: Tensor, ignore_index: int = IGNORE_INDEX,
    chunk_size: int = LOGPROB_CHUNK,
) -> tuple[Tensor, Tensor]:
    """``token_log_probs(hidden @ weight.T, labels)`` without materialising the logits, for a frozen head.

    ``hidden`` [B, T, H] is the last hidden state (after the final norm), ``weight`` [V, H] the output head
    (bias-free, not training), ``labels`` [B, T] unshifted. Only positions with a label are projected,
    ``chunk_size`` at a time. Returns ``(logps, mask)`` [B, T - 1] as token_log_probs does; gradients flow to
    ``hidden``."""
    if hidden.dim() != 3 or labels.shape != hidden.shape[:2]:
        raise ValueError(
            f"expected hidden [B, T, H] and labels [B, T]; got {tuple(hidden.shape)} and {tuple(labels.shape)}"
        )
    if weight.requires_grad:
        raise ValueError("linear_token_log_probs: the head trains here; use token_log_probs on the logits")
    shifted = labels[:, 1:]
    mask = shifted != ignore_index
    rows = hidden[:, :-1][mask]
    values = _LinearTokenLogProbs.apply(rows, weight, shifted[mask], chunk_size,
                                        torch.is_grad_enabled() and rows.requires_grad)
    logps = values.new_zeros(mask.shape)
    logps[mask] = values
    return logps, mask


def packed_to_rows(values: Tensor, cu_seq_lens: Tensor) -> Tensor:
    """Per-token values of a padding-free row -> the padded layout of its sequences.

    ``values`` [1, N - 1] come from ``token_log_probs`` (or any per-position quantity of the shifted row) on a
    row [1, N] of sequences laid end to end, starting at the offsets ``cu_seq_lens`` (int, [S + 1], N last).
    Returns [S, L - 1] (L: the longest sequence): row i, column j holds the value at packed position
    cu[i] + j, i.e. the prediction of sequence i's token j + 1, exactly where ``token_log_probs`` on the
    right-padded batch puts it; columns past a sequence's end are 0 (False for a bool mask). A gather, so
    gradients flow back to ``values``."""
    cu = cu_seq_lens.to(device=values.device, dtype=torch.long)
    starts, lengths = cu[:-1], cu[1:] - cu[:-1]
    width = max(int(lengths.max()) - 1, 0)
    j = torch.arange(width, device=values.device)
    index = (starts[:, None] + j[None, :]).clamp(max=values.shape[1] - 1)
    valid = j[None, :] < (lengths - 1)[:, None]
    rows = values[0][index]
    return rows & valid if rows.dtype == torch.bool else rows.masked_fill(~valid, 0)


def sequence_log_probs(
    logits: Tensor, labels: Tensor, ignore_index: int = IGNORE_INDEX
) -> tuple[Tensor, Tensor]:
    """Per-sequence ``(sum of log p over loss tokens, number of loss tokens)``, both [B].

    A row without loss tokens gives (0.0, 0); the length-averaged preference losses refuse such rows.
    """
    logps, mask = token_log_probs(logits, labels, ignore_index)
    return logps.sum(-1), mask.sum(-1)


def ld_sequence_log_probs(
    chosen_token_logps: Tensor,
    chosen_mask: Tensor,
    rejected_token_logps: Tensor,
    rejected_mask: Tensor,
    ld_alpha: float,
) -> tuple[Tensor, Tensor]:
    """LD-DPO sequence log-probs (Liu et al. 2024, "Length Desensitization in Direct Preference
    Optimization", arXiv:2409.06411).

    With l_p = min(|y_w|, |y_l|) the "public length" of a pair, the log-likelihood of each reply becomes

        log p_hat(y) = sum_{i <= l_p} log p(y_i | ...) + ld_alpha * sum_{i > l_p} log p(y_i | ...)

    so only the excess (verbose) tail of the longer reply is down-weighted; the shorter reply is unchanged.
    Inputs are the outputs of ``token_log_probs`` for the chosen and rejected halves (rows paired by index;
    the two halves may have different T). Token i means the i-th *loss* token of the row, counted through
    the mask, so replies need not start at the same column or be contiguous.

    Apply this to the policy only, as LLaMA-Factory does; the reference log-probs stay plain sums.
    """
    if not 0.0 <= ld_alpha <= 1.0:
        raise ValueError(f"ld_alpha must be in [0, 1], got {ld_alpha}")
    public_length = torch.minimum(chosen_mask.sum(-1), rejected_mask.sum(-1)).unsqueeze(-1)

    def weighted_sum(logps: Tensor, mask: Tensor) -> Tensor:
        logps = _upcast(logps)
        rank = mask.long().cumsum(-1)  # 1-based index of each loss token within its row
        weight = torch.full_like(logps, ld_alpha).masked_fill(rank <= public_length, 1.0) * mask
        return (logps * weight).sum(-1)

    return weighted_sum(chosen_token_logps, chosen_mask), weighted_sum(rejected_token_logps, rejected_mask)


def token_accuracy(logits: Tensor, labels: Tensor, ignore_index: int = IGNORE_INDEX) -> tuple[Tensor, Tensor]:
    """Per-token ``(argmax == label, is a loss token)`` of the shifted row, both bool [B, T - 1]: the
    argmax at position t is the prediction of label t + 1 (the same shift as ``token_log_probs``)."""
    _check_logits_labels(logits, labels)
    targets = labels[:, 1:]
    mask = targets != ignore_index
    return (logits[:, :-1].argmax(-1) == targets) & mask, mask


def sequence_accuracy(correct: Tensor, mask: Tensor) -> Tensor:
    """Each row's fraction of loss tokens predicted right, [rows with loss tokens]: the per-example token
    accuracy LLaMA-Factory's compute_accuracy averages (rows without loss tokens are left out)."""
    counts = mask.sum(-1)
    keep = counts > 0
    return correct.sum(-1)[keep].double() / counts[keep].double()


# --------------------------------------------------------------------------------------------------
# Language-modelling loss (pt, sft)


def _normaliser(num_items_in_batch: int | Tensor | None, local_count: Tensor) -> Tensor:
    """The divisor of a summed token loss. A batch without loss tokens yields loss 0, not NaN."""
    if num_items_in_batch is None:
        return local_count.clamp(min=1)
    if isinstance(num_items_in_batch, Tensor):
        return num_items_in_batch.to(local_count.device).clamp(min=1)
    return torch.tensor(max(int(num_items_in_batch), 1), device=local_count.device)


def causal_lm_loss(
    logits: Tensor,
    labels: Tensor,
    num_items_in_batch: int | Tensor | None = None,
    ignore_index: int = IGNORE_INDEX,
) -> Tensor:
    """Next-token cross-entropy: sum of -log p(label) over loss tokens / normaliser.

    The normaliser is ``num_items_in_batch`` when given: the number of loss tokens in the whole
    accumulated batch (all micro-batches of one optimiser step, all ranks), which makes the summed
    micro-batch losses equal the full-batch token mean, so gradient accumulation is exact. Without it,
    the local number of loss tokens (the per-micro-batch mean, what HF computes by default).
    """
    _check_logits_labels(logits, labels)
    # Pad the shifted labels instead of slicing the logits: keeps logits.view(-1, V) a view (as HF does).
    shifted = F.pad(labels[:, 1:], (0, 1), value=ignore_index)
    total = F.cross_entropy(
        _upcast(logits.reshape(-1, logits.shape[-1])),
        shifted.reshape(-1),
        ignore_index=ignore_index,
        reduction="sum",
    )
    return total / _normaliser(num_items_in_batch, (shifted != ignore_index).sum())


def _token_ce(logits: Tensor, labels: Tensor, ignore_index: int) -> tuple[Tensor, Tensor, Tensor]:
    """(per-token cross-entropy [N], the logits [N, V] of the loss tokens, in float32+) for the N loss tokens."""
    _check_logits_labels(logits, labels)
    shifted = F.pad(labels[:, 1:], (0, 1), value=ignore_index).reshape(-1)
    mask = shifted != ignore_index
    rows = _upcast(logits.reshape(-1, logits.shape[-1])[mask])
    return F.cross_entropy(rows, shifted[mask], reduction="none"), rows, mask.sum()


def dft_loss(
    logits: Tensor,
    labels: Tensor,
    num_items_in_batch: int | Tensor | None = None,
    ignore_index: int = IGNORE_INDEX,
) -> Tensor:
    """DFT (Dynamic Fine-Tuning, LLaMA-Factory's use_dft_loss): each token's cross-entropy weighted by its
    own probability p(label), the weight detached: sum_t p_t.detach() * -log p_t / normaliser (the
    normaliser of causal_lm_loss, so gradient accumulation stays exact)."""
    ce, _, count = _token_ce(logits, labels, ignore_index)
    return (ce * torch.exp(-ce.detach())).sum() / _normaliser(num_items_in_batch, count)


def eaft_loss(
    logits: Tensor,
    labels: Tensor,
    num_items_in_batch: int | Tensor | None = None,
    alpha: float = 1.0,
    ignore_index: int = IGNORE_INDEX,
    top_k: int = 20,
) -> Tensor:
    """EAFT (entropy-adaptive fine-tuning, LLaMA-Factory's use_eaft_loss / eaft_alpha): each token's
    cross-entropy weighted by (H / 3) ** alpha, detached, where H is the entropy of the softmax over the
    token's top-20 logits (renormalised over those 20; LLaMA-Factory's approximation; 3 ~ ln 20 scales it
    to about [0, 1]). Same normaliser as causal_lm_loss."""
    ce, rows, count = _token_ce(logits, labels, ignore_index)
    with torch.no_grad():
        top = torch.topk(rows, k=min(top_k, rows.shape[-1]), dim=-1).values
        log_p = top - torch.logsumexp(top, dim=-1, keepdim=True)
        entropy = -(log_p.exp() * log_p).sum(-1)
        weight = (entropy / 3.0) ** alpha
    return (ce * weight).sum() / _normaliser(num_items_in_batch, count)


class _LinearCrossEntropy(torch.autograd.Function):
    """sum_n CE(hidden[n] @ weight.T, targets[n]) * scale, chunk by chunk over n.

    The gradients are computed during the forward pass, chunk by chunk (d CE / d logits = softmax - onehot,
    so a chunk's logits are used and dropped at once), and only scaled by grad_output in backward. Peak
    extra memory: one chunk of logits, plus a float32 gradient accumulator for the weight when it trains
    (none for a frozen head, the LoRA case). The same trick as Liger's fused linear cross-entropy.
    """

    @staticmethod
    def forward(ctx, hidden, weight, targets, scale, chunk_size, grad_hidden_needed, grad_weight_needed):
        accumulate_dtype = torch.promote_types(weight.dtype, torch.float32)
        total = torch.zeros((), dtype=accumulate_dtype, device=hidden.device)
        grad_hidden = torch.empty_like(hidden) if grad_hidden_needed else None
        grad_weight = torch.zeros_like(weight, dtype=accumulate_dtype) if grad_weight_needed else None
        for start in range(0, hidden.shape[0], chunk_size):
            h = hidden[start : start + chunk_size]
            t = targets[start : start + chunk_size]
            logits = _upcast(h @ weight.T)  # as in the plain path: matmul in the model dtype, CE in fp32+
            lse = torch.logsumexp(logits, dim=-1)
            total = total + (lse - logits.gather(-1, t.unsqueeze(-1)).squeeze(-1)).sum()
            if grad_hidden_needed or grad_weight_needed:
                grad_logits = logits.sub_(lse.unsqueeze(-1)).exp_()  # softmax, in place of the logits
                grad_logits[torch.arange(len(t), device=t.device), t] -= 1.0
                grad_logits = (grad_logits * scale).to(hidden.dtype)
                if grad_hidden_needed:
                    grad_hidden[start : start + chunk_size] = grad_logits @ weight
                if grad_weight_needed:
                    grad_weight += grad_logits.T @ h
        ctx.save_for_backward(grad_hidden, grad_weight)
        ctx.weight_dtype = weight.dtype
        return total * scale

    @staticmethod
    def backward(ctx, grad_output):
        grad_hidden, grad_weight = ctx.saved_tensors
        if grad_hidden is not None:
            grad_hidden = grad_hidden * grad_output.to(grad_hidden.dtype)
        if grad_weight is not None:
            grad_weight = (grad_weight * grad_output).to(ctx.weight_dtype)
        return grad_hidden, grad_weight, None, None, None, None, None


def chunked_linear_cross_entropy(
    hidden: Tensor,
    lm_head_weight: Tensor,
    labels: Tensor,
    num_items_in_batch: int | Tensor | None = None,
    ignore_index: int = IGNORE_INDEX,
    chunk_size: int = 1024,
) -> Tensor:
    """``causal_lm_loss(hidden @ lm_head_weight.T, labels, ...)`` without materialising the logits.

    ``hidden`` [B, T, H] is the last hidden state (after the final norm), ``lm_head_weight`` [V, H],
    ``labels`` [B, T] unshifted. Only the loss positions are projected, ``chunk_size`` tokens at a time:
    with a 151k vocabulary the plain path holds ~0.6 GB of float32 logits (plus their bf16 original and
    gradient) per 1k tokens of the batch; this holds one chunk's worth. Same value and gradients as the
    plain path (tested in float64).

    Heads with a bias, logit scaling or soft-capping are not covered: use the plain path for those.
    """
    if hidden.dim() != 3 or labels.shape != hidden.shape[:2]:
        raise ValueError(
            f"expected hidden [B, T, H] and labels [B, T]; got {tuple(hidden.shape)} and {tuple(labels.shape)}"
        )
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    shifted = labels[:, 1:]
    mask = shifted != ignore_index
    rows = hidden[:, :-1][mask]  # [N, H]: only positions that carry loss are ever projected
    targets = shifted[mask]
    scale = 1.0 / _normaliser(num_items_in_batch, mask.sum()).double()
    grad_enabled = torch.is_grad_enabled()
    return _LinearCrossEntropy.apply(
        rows,
        lm_head_weight,
        targets,
        scale.item(),  # a Python float keeps dtypes simple; one sync per step is negligible here
        chunk_size,
        grad_enabled and rows.requires_grad,
        grad_enabled and lm_head_weight.requires_grad,
    )


# --------------------------------------------------------------------------------------------------
# Reward model (rm)


def pairwise_reward_loss(chosen_rewards: Tensor, rejected_rewards: Tensor) -> Tensor:
    """Bradley-Terry loss of a reward model: mean of -log sigmoid(r_chosen - r_rejected)
    (Ouyang et al. 2022, InstructGPT, eq. 1)."""
    return -F.logsigmoid(_upcast(chosen_rewards) - _upcast(rejected_rewards)).mean()


def reward_accuracy(chosen_rewards: Tensor, rejected_rewards: Tensor) -> Tensor:
    """Fraction of pairs whose chosen reward is strictly higher (ties count as wrong)."""
    return (chosen_rewards > rejected_rewards).float().mean()


# --------------------------------------------------------------------------------------------------
# Preference optimisation (dpo stage)


def _logistic_loss(logits: Tensor, label_smoothing: float) -> Tensor:
    """-(1 - eps) log sigmoid(z) - eps log sigmoid(-z): the conservative (label-smoothed) logistic loss
    of cDPO (Mitchell 2023, "A note on DPO with noisy preferences"), assuming labels flip with prob. eps."""
    losses = -F.logsigmoid(logits)
    if label_smoothing:
        losses = (1.0 - label_smoothing) * losses - label_smoothing * F.logsigmoid(-logits)
    return losses


def _log1mexp(x: Tensor) -> Tensor:
    """log(1 - exp(x)) for x < 0, accurate at both ends (Maechler 2012, "Accurately computing
    log(1 - exp(-|a|))"): log(-expm1(x)) near 0, log1p(-exp(x)) further out. Each branch sees only its
    own range, or the branch not taken can put inf * 0 = NaN into the gradient."""
    cut = -math.log(2.0)
    near_zero = torch.log(-torch.expm1(x.clamp(min=cut)))
    far = torch.log1p(-torch.exp(x.clamp(max=cut)))
    return torch.where(x > cut, near_zero, far)


def _lengths(lengths: Tensor | None, name: str, loss_type: str) -> Tensor:
    if lengths is None:
        raise ValueError(f"loss_type={loss_type!r} compares per-token averages: pass {name}")
    lengths = _upcast(torch.as_tensor(lengths))
    if bool((lengths <= 0).any()):
        raise ValueError(
            f"{name} has a reply without loss tokens; drop such pairs before training "
            "(usually a cutoff_len too short for the prompt)"
        )
    return lengths


def preference_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    reference_chosen_logps: Tensor | None,
    reference_rejected_logps: Tensor | None,
    *,
    loss_type: str,
    beta: float,
    label_smoothing: float = 0.0,
    simpo_gamma: float = 0.5,
    chosen_lengths: Tensor | None = None,
    rejected_lengths: Tensor | None = None,
    policy_chosen_nll: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Pairwise preference losses. Returns ``(losses [B], chosen_rewards [B], rejected_rewards [B])``.

    Inputs are *summed* sequence log-probs [B] (``sequence_log_probs``). Lengths are the numbers of loss
    tokens per reply; the losses marked "avg" divide policy and reference log-probs by them first (as
    LLaMA-Factory and TRL do), the others use the sums. With pi = policy, ref = reference, c/r =
    chosen/rejected, and h = (pi_c - pi_r) - (ref_c - ref_r):

    - ``sigmoid`` DPO (Rafailov et al. 2023, eq. 7) with cDPO label smoothing eps:
      -(1 - eps) log sig(beta h) - eps log sig(-beta h).
    - ``hinge``  SLiC-style (Zhao et al. 2023): relu(1 - beta h).
    - ``ipo``    IPO (Azar et al. 2023, eq. 17), avg: (h - 1 / (2 beta))^2.
    - ``kto_pair`` paired KTO (Ethayarajh et al. 2024, as in TRL): with the batch KL estimates
      KL_c = mean(pi_c - ref_c) and KL_r = mean(pi_r - ref_r), each clamped at 0 and detached (the KTO
      paper does not back-propagate through its reference point z0),
      1 - sig(beta((pi_c - ref_c) - KL_r)) + 1 - sig(beta(KL_c - (pi_r - ref_r))).
      The two terms are summed per pair (TRL concatenates them, so its mean is half of ours).
    - ``orpo``   ORPO (Hong et al. 2024, eq. 6-7), avg, no reference; beta is the paper's lambda:
      NLL_c - beta log sig(log odds(c) - log odds(r)), log odds(y) = p - log(1 - exp(p)).
    - ``simpo``  SimPO (Meng et al. 2024, eq. 6), avg, no reference, label smoothing as in its reference
      code: -log sig(beta (pi_c - pi_r) - simpo_gamma). ``simpo_gamma`` is the paper's gamma, the margin
      in reward units (LLaMA-Factory's ``simpo_gamma``; the SimPO repo's ``gamma_beta_ratio`` is
      simpo_gamma / beta).
    - ``cpo``    CPO (Xu et al. 2024, eq. 3-5), sums, no reference: -log sig(beta (pi_c - pi_r)) + NLL_c.

    NLL_c (orpo, cpo) is ``policy_chosen_nll`` when given (scalar or [B]; e.g. the token-mean CE of the
    chosen replies, as TRL does), otherwise the per-example mean token NLL -pi_c / |c| (LLaMA-Factory).
    ``label_smoothing`` applies to the logistic losses (sigmoid, simpo, cpo) and is refused by the others.

    Rewards (detached): beta * (pi - ref) for reference-based losses, beta * pi for reference-free ones,
    with pi and ref averaged per token exactly when the loss averages them.
    """
    if loss_type not in PREFERENCE_LOSSES:
        raise ValueError(
            f"unknown preference loss_type {loss_type!r}{did_you_mean(loss_type, PREFERENCE_LOSSES)} "
            f"(expected one of {', '.join(PREFERENCE_LOSSES)})"
        )
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    if label_smoothing and loss_type not in LABEL_SMOOTHED_LOSSES:
        raise ValueError(
            f"label_smoothing is defined for {', '.join(LABEL_SMOOTHED_LOSSES)}, not {loss_type!r}; set it to 0"
        )
    if not 0.0 <= label_smoothing <= 0.5:
        raise ValueError(f"label_smoothing must be in [0, 0.5], got {label_smoothing}")

    chosen, rejected = _upcast(policy_chosen_logps), _upcast(policy_rejected_logps)
    reference_free = loss_type in REFERENCE_FREE_LOSSES
    if not reference_free:
        if reference_chosen_logps is None or reference_rejected_logps is None:
            raise ValueError(f"loss_type={loss_type!r} needs the reference model's log-probs")
        chosen = chosen - _upcast(reference_chosen_logps)
        rejected = rejected - _upcast(reference_rejected_logps)
    if loss_type in LENGTH_AVERAGED_LOSSES:
        # (pi - ref) / n == pi / n - ref / n: averaging the log-ratio averages both models' log-probs
        chosen = chosen / _lengths(chosen_lengths, "chosen_lengths", loss_type)
        rejected = rejected / _lengths(rejected_lengths, "rejected_lengths", loss_type)
    # From here on, chosen/rejected are the implicit rewards / beta: log-ratios, or policy log-probs.
    margin = chosen - rejected

    if loss_type == "sigmoid":
        losses = _logistic_loss(beta * margin, label_smoothing)
    elif loss_type == "hinge":
        losses = torch.relu(1.0 - beta * margin)
    elif loss_type == "ipo":
        losses = (margin - 1.0 / (2.0 * beta)) ** 2
    elif loss_type == "kto_pair":
        kl_chosen = chosen.mean().clamp(min=0).detach()
        kl_rejected = rejected.mean().clamp(min=0).detach()
        losses = (1.0 - torch.sigmoid(beta * (chosen - kl_rejected))) + (
            1.0 - torch.sigmoid(beta * (kl_chosen - rejected))
        )
    elif loss_type == "simpo":
        losses = _logistic_loss(beta * margin - simpo_gamma, label_smoothing)
    else:  # orpo, cpo: a preference term plus NLL on the chosen reply
        if policy_chosen_nll is not None:
            nll = _upcast(policy_chosen_nll)
        elif loss_type == "orpo":
            nll = -chosen  # already the per-token average
        else:
            nll = -chosen / _lengths(chosen_lengths, "chosen_lengths (or policy_chosen_nll)", loss_type)
        if loss_type == "orpo":
            log_odds_ratio = margin - (_log1mexp(chosen) - _log1mexp(rejected))
            losses = nll - beta * F.logsigmoid(log_odds_ratio)
        else:
            losses = _logistic_loss(beta * margin, label_smoothing) + nll

    return losses, (beta * chosen).detach(), (beta * rejected).detach()


def bco_loss(chosen_rewards: Tensor, rejected_rewards: Tensor, delta: float | Tensor) -> Tensor:
    """BCO (Jung et al. 2024, "Binary Classifier Optimization for LLM alignment", eq. 5-6), the term
    LLaMA-Factory's ``pref_bco_weight`` mixes into DPO: a logistic classifier on the implicit rewards
    (beta * log-ratio, [B], with gradients) whose threshold ``delta`` is the running mean of past rewards:

        -log sig(r_c - delta) - log sig(-(r_r - delta))    per pair.
    """
    delta = torch.as_tensor(delta, dtype=torch.promote_types(chosen_rewards.dtype, torch.float32),
                            device=chosen_rewards.device).detach()
    return -F.logsigmoid(_upcast(chosen_rewards) - delta) - F.logsigmoid(delta - _upcast(rejected_rewards))


def mix_bco(preference_losses: Tensor, bco_losses: Tensor, weight: float) -> Tensor:
    """(loss + w * bco) / (1 + w): the mix of LLaMA-Factory's pref_bco_weight (the weights sum to one)."""
    return (preference_losses + weight * bco_losses) / (1.0 + weight)


# --------------------------------------------------------------------------------------------------
# KTO (kto stage)


def kto_loss(
    policy_logps: Tensor,
    reference_logps: Tensor,
    policy_kl_logps: Tensor,
    reference_kl_logps: Tensor,
    is_desirable: Tensor,
    beta: float,
    desirable_weight: float = 1.0,
    undesirable_weight: float = 1.0,
) -> tuple[Tensor, Tensor, Tensor]:
    """KTO (Ethayarajh et al. 2024, "KTO: Model Alignment as Prospect Theoretic Optimization", eq. 8).

    With r = policy_logps - reference_logps (summed log-probs [B]) and the reference point
    z0 = max(0, mean(policy_kl_logps - reference_kl_logps)), estimated on mismatched (prompt, reply)
    pairs and detached (the paper does not back-propagate through it):

        desirable:   desirable_weight   * (1 - sig(beta (r - z0)))
        undesirable: undesirable_weight * (1 - sig(beta (z0 - r)))

    Returns ``(losses [B], rewards [B] = beta r detached, z0)``. In distributed training pass the KL
    log-probs gathered from all ranks so every rank uses the same z0.
    """
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    if policy_kl_logps.numel() == 0:
        raise ValueError("KTO needs at least one mismatched pair to estimate the KL reference point")
    kl = (_upcast(policy_kl_logps) - _upcast(reference_kl_logps)).mean().clamp(min=0).detach()
    logratio = _upcast(policy_logps) - _upcast(reference_logps)
    desirable = desirable_weight * (1.0 - torch.sigmoid(beta * (logratio - kl)))
    undesirable = undesirable_weight * (1.0 - torch.sigmoid(beta * (kl - logratio)))
    losses = torch.where(is_desirable.bool(), desirable, undesirable)
    return losses, (beta * logratio).detach(), kl
