"""GRPO's pure functions against independent float64 formulas written with Python loops and math."""

import math
import random

import pytest
import torch

from lmforge.train.rl.losses import clipped_token_loss, group_advantages, grpo_loss, k3_kl, normalise_loss


def _std(xs):  # unbiased, as torch.std
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def test_group_advantages_by_group_std():
    rewards = [1.0, 0.0, 0.0, 1.0, 0.5, 0.5, 2.0, 0.0, 3.0]
    got = group_advantages(torch.tensor(rewards, dtype=torch.float64), 3, "group").tolist()
    want = []
    for g in range(3):
        group = rewards[3 * g:3 * g + 3]
        m, s = sum(group) / 3, _std(group)
        want += [(r - m) / (s + 1e-4) for r in group]
    assert got == pytest.approx(want, abs=1e-12)
    assert got[3:6] != pytest.approx([0, 0, 0])  # the second group differs: not all zero


def test_constant_group_has_zero_advantage_and_batch_and_none_scaling():
    rewards = [2.0, 2.0, 1.0, 3.0]
    assert group_advantages(torch.tensor(rewards, dtype=torch.float64), 2, "group").tolist()[:2] == [0.0, 0.0]
    none = group_advantages(torch.tensor(rewards, dtype=torch.float64), 2, "none").tolist()
    assert none == pytest.approx([0.0, 0.0, -1.0, 1.0])
    batch = group_advantages(torch.tensor(rewards, dtype=torch.float64), 2, "batch").tolist()
    s = _std(rewards)
    assert batch == pytest.approx([0.0, 0.0, -1.0 / (s + 1e-4), 1.0 / (s + 1e-4)], abs=1e-12)


def test_group_advantages_refuses_partial_groups():
    with pytest.raises(ValueError, match="groups of 4"):
        group_advantages(torch.zeros(6), 4)


def _random_case(seed=0, b=4, t=5):
    rng = random.Random(seed)
    logp = [[rng.uniform(-3, -0.1) for _ in range(t)] for _ in range(b)]
    old = [[x + rng.uniform(-0.5, 0.5) for x in row] for row in logp]  # ratios well outside [0.8, 1.2]
    ref = [[x + rng.uniform(-0.3, 0.3) for x in row] for row in logp]
    adv = [rng.uniform(-2, 2) for _ in range(b)]
    lengths = [t, 3, 1, 4][:b]
    mask = [[1 if j < lengths[i] else 0 for j in range(t)] for i in range(b)]
    return logp, old, ref, adv, mask


def _token_losses(logp, old, ref, adv, eps_lo, eps_hi, beta):
    out = []
    for i, row in enumerate(logp):
        r_out = []
        for j, lp in enumerate(row):
            rho = math.exp(lp - old[i][j])
            clipped = min(max(rho, 1 - eps_lo), 1 + eps_hi)
            loss = -min(rho * adv[i], clipped * adv[i])
            d = ref[i][j] - lp
            loss += beta * (math.exp(d) - d - 1)
            r_out.append(loss)
        out.append(r_out)
    return out


def _reduce(losses, mask, loss_type, max_len=None, num_items=None):
    b = len(losses)
    per_row = [sum(x * m for x, m in zip(row, mrow, strict=True)) for row, mrow in zip(losses, mask, strict=True)]
    total = sum(per_row)
    if loss_type == "grpo":
        return sum(s / max(sum(mrow), 1) for s, mrow in zip(per_row, mask, strict=True)) / b
    if loss_type == "bnpo":
        return total / sum(map(sum, mask))
    if loss_type == "dr_grpo":
        return total / (b * max_len)
    return total / num_items


T64 = dict(dtype=torch.float64)


@pytest.mark.parametrize("loss_type", ["grpo", "bnpo", "dr_grpo", "dapo"])
@pytest.mark.parametrize("beta", [0.0, 0.04])
def test_grpo_loss_matches_the_formula(loss_type, beta):
    logp, old, ref, adv, mask = _random_case()
    eps_lo, eps_hi = 0.2, 0.28
    got, metrics = grpo_loss(torch.tensor(logp, **T64), torch.tensor(old, **T64), torch.tensor(adv, **T64),
                             torch.tensor(mask), loss_type=loss_type, epsilon_low=eps_lo, epsilon_high=eps_hi,
                             beta=beta, ref_logps=torch.tensor(ref, **T64), max_completion_length=7,
                             num_items=40)
    want = _reduce(_token_losses(logp, old, ref, adv, eps_lo, eps_hi, beta), mask, loss_type, 7, 40)
    assert float(got) == pytest.approx(want, rel=1e-12)
    assert ("kl" in metrics) == (beta != 0)


def test_the_normalisations_differ_on_unequal_lengths():
    logp, old, ref, adv, mask = _random_case(seed=1)
    values = {lt: float(grpo_loss(torch.tensor(logp, **T64), torch.tensor(old, **T64), torch.tensor(adv, **T64),
                                  torch.tensor(mask), loss_type=lt, max_completion_length=5, num_items=13)[0])
              for lt in ("grpo", "bnpo", "dr_grpo", "dapo")}
    assert values["bnpo"] == pytest.approx(values["dapo"])  # 13 = the tokens of this batch
    assert len({round(values[k], 9) for k in ("grpo", "bnpo", "dr_grpo")}) == 3


def test_clipping_and_clip_ratios():
    logp = torch.log(torch.tensor([[1.5, 0.5, 1.1, 0.7]], **T64))  # ratios against old log-probs of 0
    old = torch.zeros(1, 4, **T64)
    for adv, want_loss, low, high in (
            (1.0, [-1.28, -0.5, -1.1, -0.7], 0.0, 0.25),  # A > 0: only rho > 1 + eps_high is clipped
            (-1.0, [1.5, 0.8, 1.1, 0.8], 0.5, 0.0)):  # A < 0: only rho < 1 - eps_low is clipped
        a = torch.tensor([adv], **T64)
        per_token, ratio = clipped_token_loss(logp, old, a, epsilon_low=0.2, epsilon_high=0.28)
        assert per_token[0].tolist() == pytest.approx(want_loss, abs=1e-12)
        assert ratio[0].tolist() == pytest.approx([1.5, 0.5, 1.1, 0.7])
        _, metrics = grpo_loss(logp, old, a, torch.ones(1, 4), loss_type="bnpo", epsilon_low=0.2,
                                epsilon_high=0.28)
        assert float(metrics["clip_ratio/low_mean"]) == low
        assert float(metrics["clip_ratio/high_mean"]) == high
        assert float(metrics["clip_ratio/region_mean"]) == low + high


def test_clipped_tokens_have_no_gradient_and_ratio_one_gives_the_policy_gradient():
    logp = torch.log(torch.tensor([[1.5, 1.0]], **T64)).requires_grad_()
    loss, _ = grpo_loss(logp, torch.zeros(1, 2, **T64), torch.tensor([2.0], **T64), torch.ones(1, 2),
                        loss_type="bnpo", epsilon_low=0.2)
    loss.backward()
    # token 0 is clipped (1.5 > 1.2, A > 0): no gradient; token 1: d/dlogp -(rho A)/2 = -A/2 at rho = 1
    assert logp.grad[0].tolist() == pytest.approx([0.0, -1.0])


def test_k3_kl():
    lp, ref = [-1.0, -2.0, -0.5], [-1.5, -2.0, 0.0]
    got = k3_kl(torch.tensor(lp, **T64), torch.tensor(ref, **T64)).tolist()
    assert got == pytest.approx([math.exp(r - p) - (r - p) - 1 for p, r in zip(lp, ref, strict=True)], abs=1e-15)
    assert got[1] == 0.0 and min(got) >= 0


def test_masked_positions_do_not_count():
    per_token = torch.tensor([[1.0, 2.0, 100.0]], **T64)
    mask = torch.tensor([[1, 1, 0]])
    assert float(normalise_loss(per_token, mask, "grpo")) == 1.5
    assert float(normalise_loss(per_token, mask, "dr_grpo", max_completion_length=3)) == 1.0
    with pytest.raises(ValueError, match="loss_type"):
        normalise_loss(per_token, mask, "nope")
