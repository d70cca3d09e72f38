"""GRPO's pure functions of tensors: group-normalised advantages, the clipped policy loss and its
normalisations. Tested against float64 formulas in tests/train/rl/test_grpo_losses.py.

Shapes: B sequences (prompts x num_generations, each prompt's completions contiguous), T completion
positions; `mask` [B, T] is 1 on completion tokens (up to and including the stop token), 0 on padding.
"""

from __future__ import annotations

import torch

LOSS_TYPES = ("grpo", "bnpo", "dr_grpo", "dapo")
SCALE_REWARDS = ("group", "batch", "none")


def group_advantages(rewards: torch.Tensor, num_generations: int, scale_rewards: str = "group",
                     eps: float = 1e-4) -> torch.Tensor:
    """A_i = r_i - mean(r of i's group), divided by the std (unbiased, as torch.std) of i's group (group),
    of all rewards (batch) or by nothing (none, Dr. GRPO). eps keeps a constant group finite (A = 0)."""
    if rewards.numel() % num_generations:
        raise ValueError(f"{rewards.numel()} rewards do not split into groups of {num_generations}")
    groups = rewards.view(-1, num_generations)
    advantages = (groups - groups.mean(dim=1, keepdim=True)).reshape(-1)
    if scale_rewards == "group":
        std = groups.std(dim=1, keepdim=True).expand_as(groups).reshape(-1)
    elif scale_rewards == "batch":
        std = rewards.std().expand_as(rewards)
    elif scale_rewards == "none":
        return advantages
    else:
        raise ValueError(f"scale_rewards: {scale_rewards!r}; expected one of {', '.join(SCALE_REWARDS)}")
    return advantages / (std + eps)


def k3_kl(logps: torch.Tensor, ref_logps: torch.Tensor) -> torch.Tensor:
    """Per-token KL(policy || reference) estimate exp(ref - logp) - (ref - logp) - 1 (Schulman's k3): unbiased,
    never negative."""
    delta = ref_logps - logps
    return torch.exp(delta) - delta - 1


def clipped_token_loss(logps: torch.Tensor, old_logps: torch.Tensor, advantages: torch.Tensor, *,
                       epsilon_low: float, epsilon_high: float) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO's clipped surrogate per token: -min(rho A, clip(rho, 1 - eps_low, 1 + eps_high) A), rho =
    exp(logp - logp_old). Also returns rho. advantages: [B] (one per sequence)."""
    ratio = torch.exp(logps - old_logps)
    a = advantages.unsqueeze(1)
    clipped = torch.clamp(ratio, 1 - epsilon_low, 1 + epsilon_high)
    return -torch.min(ratio * a, clipped * a), ratio


def normalise_loss(per_token: torch.Tensor, mask: torch.Tensor, loss_type: str, *,
                   max_completion_length: int | None = None, num_items: float | None = None) -> torch.Tensor:
    """Reduce [B, T] per-token losses to the micro-batch's loss.

    grpo     mean over sequences of each sequence's token mean
    bnpo     token mean over this micro-batch
    dr_grpo  sum / (B x max_completion_length): a constant normaliser (Dr. GRPO), no length bias
    dapo     sum / num_items: the completion tokens of the whole accumulated batch (all micro-batches and
             processes), so every token of an optimisation step weighs the same
    """
    mask = mask.to(per_token.dtype)
    total = (per_token * mask).sum()
    if loss_type == "grpo":
        return ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1)).mean()
    if loss_type == "bnpo":
        return total / mask.sum().clamp(min=1)
    if loss_type == "dr_grpo":
        if not max_completion_length:
            raise ValueError("dr_grpo needs max_completion_length")
        return total / (per_token.shape[0] * max_completion_length)
    if loss_type == "dapo":
        if num_items is None:
            raise ValueError("dapo needs num_items (completion tokens of the accumulated batch)")
        return total / max(float(num_items), 1.0)
    raise ValueError(f"loss_type: {loss_type!r}; expected one of {', '.join(LOSS_TYPES)}")


def grpo_loss(logps: torch.Tensor, old_logps: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor, *,
              loss_type: str = "dapo", epsilon_low: float = 0.2, epsilon_high: float | None = None,
              beta: float = 0.0, ref_logps: torch.Tensor | None = None, max_completion_length: int | None = None,
              num_items: float | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The GRPO objective of one micro-batch and its metrics (kl, clip ratios: masked token means).

    logps, old_logps, ref_logps, mask: [B, T]; advantages: [B]. beta > 0 adds beta x k3 KL per token."""
    epsilon_high = epsilon_low if epsilon_high is None else epsilon_high
    per_token, ratio = clipped_token_loss(logps, old_logps, advantages, epsilon_low=epsilon_low,
                                          epsilon_high=epsilon_high)
    metrics: dict[str, torch.Tensor] = {}
    maskf = mask.to(per_token.dtype)

    def masked_mean(x: torch.Tensor) -> torch.Tensor:
        return (x * maskf).sum() / maskf.sum().clamp(min=1)

    if beta != 0.0:
        if ref_logps is None:
            raise ValueError("beta != 0 needs ref_logps")
        kl = k3_kl(logps, ref_logps)
        per_token = per_token + beta * kl
        metrics["kl"] = masked_mean(kl.detach())
    loss = normalise_loss(per_token, mask, loss_type, max_completion_length=max_completion_length,
                          num_items=num_items)
    with torch.no_grad():
        a = advantages.unsqueeze(1)
        low = ((ratio < 1 - epsilon_low) & (a < 0)).to(per_token.dtype)
        high = ((ratio > 1 + epsilon_high) & (a > 0)).to(per_token.dtype)
        metrics["clip_ratio/low_mean"] = masked_mean(low)
        metrics["clip_ratio/high_mean"] = masked_mean(high)
        metrics["clip_ratio/region_mean"] = masked_mean(low + high)
    return loss, metrics
