"""Every loss in lmforge.train.losses against an independent float64 reference.

The references are written from the published formulas with Python's math module, element by element,
and never call the code under test (nor torch's loss functions).
"""

from __future__ import annotations

import math

import pytest
import torch

from lmforge.train import losses as L

SEEDS = (0, 1, 2)


# ----------------------------------------------------------------------------------------------------
# Plain-Python references


def log_sigmoid(x: float) -> float:
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


def sigmoid(x: float) -> float:
    return math.exp(log_sigmoid(x))


def ref_token_log_probs(logits, labels, ignore=-100):
    """[[log p or None]] per (row, position t), position t predicting labels[t + 1]."""
    logits, labels = logits.double().tolist(), labels.tolist()
    out = []
    for row_logits, row_labels in zip(logits, labels, strict=True):
        row = []
        for t in range(len(row_labels) - 1):
            label = row_labels[t + 1]
            if label == ignore:
                row.append(None)
                continue
            z = row_logits[t]
            m = max(z)
            row.append(z[label] - (m + math.log(sum(math.exp(v - m) for v in z))))
        out.append(row)
    return out


def ref_sequence_log_probs(logits, labels, ignore=-100):
    rows = ref_token_log_probs(logits, labels, ignore)
    return [sum(v for v in r if v is not None) for r in rows], [sum(v is not None for v in r) for r in rows]


def ref_lm_loss_sum_and_count(logits, labels):
    sums, counts = ref_sequence_log_probs(logits, labels)
    return -sum(sums), sum(counts)


def random_batch(seed, batch=3, length=7, vocab=11, dtype=torch.float64, ignore_fraction=0.3):
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(batch, length, vocab, generator=g) * 3).to(dtype)
    labels = torch.randint(0, vocab, (batch, length), generator=g)
    labels[torch.rand(batch, length, generator=g) < ignore_fraction] = -100
    labels[:, 0] = -100  # the prompt's first token: never a label after the shift anyway
    labels[0, 3] = 5  # at least one loss token in the batch
    return logits, labels


# ----------------------------------------------------------------------------------------------------
# token / sequence log-probs


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16])
@pytest.mark.parametrize("chunk", [1024, 4])  # bf16 logits are upcast in chunks of positions (4: several per row)
def test_token_log_probs_match_reference(seed, dtype, chunk, monkeypatch):
    monkeypatch.setattr(L, "LOGPROB_CHUNK", chunk)
    logits, labels = random_batch(seed, dtype=dtype)
    logps, mask = L.token_log_probs(logits, labels)
    assert logps.shape == mask.shape == (3, 6)
    assert logps.dtype == (torch.float64 if dtype == torch.float64 else torch.float32)
    expected = ref_token_log_probs(logits, labels)  # from the same (rounded) logits
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    for b, row in enumerate(expected):
        for t, value in enumerate(row):
            assert bool(mask[b, t]) == (value is not None)
            if value is None:
                assert logps[b, t].item() == 0.0
            else:
                assert logps[b, t].item() == pytest.approx(value, abs=tol, rel=tol)


def test_token_log_probs_shift_is_next_token():
    # a one-hot-ish logit at position t for token k makes log p(labels[t + 1] = k) ~ 0
    logits = torch.full((1, 4, 5), -30.0, dtype=torch.float64)
    logits[0, 0, 2] = logits[0, 1, 4] = logits[0, 2, 1] = 30.0
    labels = torch.tensor([[-100, 2, 4, 1]])
    logps, mask = L.token_log_probs(logits, labels)
    assert mask.all()
    assert torch.allclose(logps, torch.zeros(1, 3, dtype=torch.float64), atol=1e-20)
    wrong = L.token_log_probs(logits, torch.tensor([[-100, 4, 2, 1]]))[0]
    assert (wrong[0, :2] < -50).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_sequence_log_probs_sum_and_count(seed):
    logits, labels = random_batch(seed, batch=4)
    labels[2] = -100  # a row without loss tokens: defined as (0, 0)
    sums, counts = L.sequence_log_probs(logits, labels)
    ref_sums, ref_counts = ref_sequence_log_probs(logits, labels)
    assert counts.tolist() == ref_counts
    assert counts[2] == 0 and sums[2] == 0
    assert torch.allclose(sums, torch.tensor(ref_sums, dtype=torch.float64), rtol=1e-12, atol=1e-12)


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match=r"logits \[B, T, V\]"):
        L.token_log_probs(torch.zeros(2, 5, 3), torch.zeros(2, 4, dtype=torch.long))


# ----------------------------------------------------------------------------------------------------
# causal LM loss


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16])
def test_causal_lm_loss_is_token_mean_nll(seed, dtype):
    logits, labels = random_batch(seed, dtype=dtype)
    nll_sum, count = ref_lm_loss_sum_and_count(logits, labels)
    loss = L.causal_lm_loss(logits, labels)
    assert loss.dtype == (torch.float64 if dtype == torch.float64 else torch.float32)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    assert loss.item() == pytest.approx(nll_sum / count, rel=tol)
    given = L.causal_lm_loss(logits, labels, num_items_in_batch=count + 5)
    assert given.item() == pytest.approx(nll_sum / (count + 5), rel=tol)
    as_tensor = L.causal_lm_loss(logits, labels, num_items_in_batch=torch.tensor(count + 5))
    assert as_tensor.item() == pytest.approx(nll_sum / (count + 5), rel=tol)


@pytest.mark.parametrize("seed", SEEDS)
def test_gradient_accumulation_with_num_items_equals_full_batch(seed):
    logits, labels = random_batch(seed, batch=4, length=9)
    labels[1, 2:] = -100  # micro-batches with very different token counts
    full_logits = logits.clone().requires_grad_(True)
    full = L.causal_lm_loss(full_logits, labels)
    full.backward()

    micro_logits = logits.clone().requires_grad_(True)
    num_items = int((labels[:, 1:] != -100).sum())
    total = sum(
        L.causal_lm_loss(micro_logits[rows], labels[rows], num_items_in_batch=num_items)
        for rows in (slice(0, 2), slice(2, 4))
    )
    total.backward()
    assert torch.allclose(total, full, rtol=1e-12)
    assert torch.allclose(micro_logits.grad, full_logits.grad, rtol=1e-10, atol=1e-14)

    # and the per-micro-batch mean (no num_items_in_batch) is *not* the full-batch loss here
    naive = sum(L.causal_lm_loss(logits[r], labels[r]) for r in (slice(0, 2), slice(2, 4))) / 2
    assert not torch.allclose(naive, full.detach())


def test_causal_lm_loss_without_loss_tokens_is_zero_with_zero_gradient():
    logits = torch.randn(2, 5, 7, dtype=torch.float64, requires_grad=True)
    labels = torch.full((2, 5), -100)
    loss = L.causal_lm_loss(logits, labels)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.count_nonzero(logits.grad) == 0
    assert L.causal_lm_loss(logits, labels, num_items_in_batch=0).item() == 0.0


# ----------------------------------------------------------------------------------------------------
# chunked linear cross-entropy


def plain_linear_ce(hidden, weight, labels, num_items_in_batch=None):
    return L.causal_lm_loss(hidden @ weight.T, labels, num_items_in_batch=num_items_in_batch)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("chunk_size", [1, 3, 16, 10_000])
@pytest.mark.parametrize("num_items", [None, 40])
def test_chunked_linear_ce_value_and_gradient_match_plain(seed, chunk_size, num_items):
    g = torch.Generator().manual_seed(seed)
    hidden = torch.randn(3, 9, 6, generator=g, dtype=torch.float64)
    weight = torch.randn(13, 6, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 13, (3, 9), generator=g)
    labels[torch.rand(3, 9, generator=g) < 0.3] = -100

    h1, w1 = hidden.clone().requires_grad_(True), weight.clone().requires_grad_(True)
    plain = plain_linear_ce(h1, w1, labels, num_items)
    plain.backward()
    h2, w2 = hidden.clone().requires_grad_(True), weight.clone().requires_grad_(True)
    chunked = L.chunked_linear_cross_entropy(h2, w2, labels, num_items, chunk_size=chunk_size)
    (chunked * 1.7).backward()  # a non-unit upstream gradient must scale through

    assert chunked.dtype == torch.float64
    assert torch.allclose(chunked, plain, rtol=1e-12)
    assert torch.allclose(h2.grad, 1.7 * h1.grad, rtol=1e-10, atol=1e-14)
    assert torch.allclose(w2.grad, 1.7 * w1.grad, rtol=1e-10, atol=1e-14)


def test_chunked_linear_ce_does_not_keep_logits_for_backward():
    g = torch.Generator().manual_seed(0)
    hidden = torch.randn(2, 33, 4, generator=g, requires_grad=True)
    weight = torch.randn(50, 4, generator=g, requires_grad=True)
    labels = torch.randint(0, 50, (2, 33), generator=g)
    n_tokens = int((labels[:, 1:] != -100).sum())

    def largest_saved(fn):
        sizes = []

        def pack(t):
            sizes.append(t.numel())
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            fn()
        return max(sizes)

    # the plain path keeps [N, V] logits; the chunked one nothing larger than max(N x H, V x H)
    assert largest_saved(lambda: plain_linear_ce(hidden, weight, labels)) >= n_tokens * 50
    assert largest_saved(lambda: L.chunked_linear_cross_entropy(hidden, weight, labels, chunk_size=8)) <= max(
        n_tokens * 4, 50 * 4
    )


def test_chunked_linear_ce_frozen_head_no_grad_and_bf16():
    g = torch.Generator().manual_seed(3)
    hidden = torch.randn(2, 8, 16, generator=g)
    weight = torch.randn(40, 16, generator=g)
    labels = torch.randint(0, 40, (2, 8), generator=g)
    labels[1, :5] = -100

    h = hidden.clone().requires_grad_(True)  # LoRA: the head is frozen, only hidden needs a gradient
    loss = L.chunked_linear_cross_entropy(h, weight, labels, chunk_size=4)
    loss.backward()
    assert weight.grad is None and h.grad is not None

    with torch.no_grad():
        assert torch.allclose(L.chunked_linear_cross_entropy(hidden, weight, labels), loss.detach())

    bf16 = L.chunked_linear_cross_entropy(hidden.bfloat16(), weight.bfloat16(), labels, chunk_size=4)
    assert bf16.dtype == torch.float32
    assert bf16.item() == pytest.approx(
        plain_linear_ce(hidden.bfloat16(), weight.bfloat16(), labels).item(), rel=1e-5
    )

    # bf16 with a trainable head: gradients close to the plain bf16 path
    grads = []
    for fn in (plain_linear_ce, lambda *a: L.chunked_linear_cross_entropy(*a, chunk_size=4)):
        h16, w16 = hidden.bfloat16().requires_grad_(True), weight.bfloat16().requires_grad_(True)
        fn(h16, w16, labels).backward()
        assert h16.grad.dtype == w16.grad.dtype == torch.bfloat16
        grads.append((h16.grad.float(), w16.grad.float()))
    for plain_grad, chunked_grad in zip(grads[0], grads[1], strict=True):
        assert torch.allclose(chunked_grad, plain_grad, rtol=2e-2, atol=2e-3)

    no_tokens = torch.full_like(labels, -100)
    assert L.chunked_linear_cross_entropy(h, weight, no_tokens).item() == 0.0


# ----------------------------------------------------------------------------------------------------
# reward model


@pytest.mark.parametrize("seed", SEEDS)
def test_pairwise_reward_loss_and_accuracy(seed):
    g = torch.Generator().manual_seed(seed)
    chosen, rejected = torch.randn(8, generator=g) * 4, torch.randn(8, generator=g) * 4
    rejected[0] = chosen[0]  # a tie counts as wrong
    expected = (
        sum(
            -log_sigmoid(c - r)
            for c, r in zip(chosen.double().tolist(), rejected.double().tolist(), strict=True)
        )
        / 8
    )
    assert L.pairwise_reward_loss(chosen, rejected).item() == pytest.approx(expected, rel=1e-6)
    accuracy = sum(c > r for c, r in zip(chosen.tolist(), rejected.tolist(), strict=True)) / 8
    assert L.reward_accuracy(chosen, rejected).item() == pytest.approx(accuracy)
    assert L.pairwise_reward_loss(torch.tensor([0.0]), torch.tensor([0.0])).item() == pytest.approx(
        math.log(2)
    )


# ----------------------------------------------------------------------------------------------------
# preference losses


def random_pairs(seed, batch=6):
    g = torch.Generator().manual_seed(seed)
    chosen_len = torch.randint(1, 40, (batch,), generator=g)
    rejected_len = torch.randint(1, 40, (batch,), generator=g)
    # summed log-probs: about -1 nat per token, policy and reference close
    pc = -chosen_len * torch.rand(batch, generator=g, dtype=torch.float64) * 2
    pr = -rejected_len * torch.rand(batch, generator=g, dtype=torch.float64) * 2
    rc = pc + torch.randn(batch, generator=g, dtype=torch.float64)
    rr = pr + torch.randn(batch, generator=g, dtype=torch.float64)
    return pc, pr, rc, rr, chosen_len, rejected_len


def ref_preference(loss_type, pc, pr, rc, rr, lc, lr, beta, eps=0.0, gamma=0.5, nll=None):
    """Per-example (loss, chosen reward, rejected reward), from the papers' formulas."""
    n = len(pc)
    if loss_type in ("ipo", "orpo", "simpo"):
        pc, pr = [p / k for p, k in zip(pc, lc, strict=True)], [p / k for p, k in zip(pr, lr, strict=True)]
        rc, rr = [p / k for p, k in zip(rc, lc, strict=True)], [p / k for p, k in zip(rr, lr, strict=True)]
    if loss_type in ("orpo", "simpo", "cpo"):
        cr, rj = pc, pr  # log-probs of the policy alone
    else:
        cr, rj = [a - b for a, b in zip(pc, rc, strict=True)], [a - b for a, b in zip(pr, rr, strict=True)]
    kl_c = max(0.0, sum(cr) / n)
    kl_r = max(0.0, sum(rj) / n)
    out = []
    for i in range(n):
        h = cr[i] - rj[i]
        if loss_type == "sigmoid":
            loss = -(1 - eps) * log_sigmoid(beta * h) - eps * log_sigmoid(-beta * h)
        elif loss_type == "hinge":
            loss = max(0.0, 1 - beta * h)
        elif loss_type == "ipo":
            loss = (h - 1 / (2 * beta)) ** 2
        elif loss_type == "kto_pair":
            loss = (1 - sigmoid(beta * (cr[i] - kl_r))) + (1 - sigmoid(beta * (kl_c - rj[i])))
        elif loss_type == "simpo":
            z = beta * h - gamma
            loss = -(1 - eps) * log_sigmoid(z) - eps * log_sigmoid(-z)
        elif loss_type == "orpo":
            odds_c = math.exp(pc[i]) / (1 - math.exp(pc[i]))
            odds_r = math.exp(pr[i]) / (1 - math.exp(pr[i]))
            sft = -pc[i] if nll is None else nll[i]
            loss = sft - beta * log_sigmoid(math.log(odds_c / odds_r))
        elif loss_type == "cpo":
            sft = -pc[i] / lc[i] if nll is None else nll[i]
            z = beta * h
            loss = -(1 - eps) * log_sigmoid(z) - eps * log_sigmoid(-z) + sft
        out.append((loss, beta * cr[i], beta * rj[i]))
    return out


CASES = [
    ("sigmoid", 0.0),
    ("sigmoid", 0.1),
    ("sigmoid", 0.5),
    ("hinge", 0.0),
    ("ipo", 0.0),
    ("kto_pair", 0.0),
    ("orpo", 0.0),
    ("simpo", 0.0),
    ("simpo", 0.2),
    ("cpo", 0.0),
    ("cpo", 0.1),
]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("beta", [0.1, 2.5])
@pytest.mark.parametrize(("loss_type", "eps"), CASES)
def test_preference_loss_matches_formula(loss_type, eps, beta, seed):
    pc, pr, rc, rr, lc, lr = random_pairs(seed)
    policy = [pc.clone().requires_grad_(True), pr.clone().requires_grad_(True)]
    losses, chosen_rewards, rejected_rewards = L.preference_loss(
        *policy,
        rc,
        rr,
        loss_type=loss_type,
        beta=beta,
        label_smoothing=eps,
        simpo_gamma=0.7,
        chosen_lengths=lc,
        rejected_lengths=lr,
    )
    expected = ref_preference(
        loss_type,
        pc.tolist(),
        pr.tolist(),
        rc.tolist(),
        rr.tolist(),
        lc.tolist(),
        lr.tolist(),
        beta,
        eps,
        0.7,
    )
    assert losses.shape == (6,)
    for i, (loss, c_reward, r_reward) in enumerate(expected):
        assert losses[i].item() == pytest.approx(loss, rel=1e-10, abs=1e-12)
        assert chosen_rewards[i].item() == pytest.approx(c_reward, rel=1e-12, abs=1e-12)
        assert rejected_rewards[i].item() == pytest.approx(r_reward, rel=1e-12, abs=1e-12)
    assert not chosen_rewards.requires_grad and not rejected_rewards.requires_grad
    losses.sum().backward()
    assert all(torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0 for p in policy)


@pytest.mark.parametrize("loss_type", ["orpo", "cpo"])
def test_preference_loss_uses_given_chosen_nll(loss_type):
    pc, pr, rc, rr, lc, lr = random_pairs(7)
    nll = torch.rand(6, dtype=torch.float64) * 3
    losses, _, _ = L.preference_loss(
        pc,
        pr,
        None,
        None,
        loss_type=loss_type,
        beta=0.3,
        chosen_lengths=lc,
        rejected_lengths=lr,
        policy_chosen_nll=nll,
    )
    expected = ref_preference(
        loss_type,
        pc.tolist(),
        pr.tolist(),
        rc.tolist(),
        rr.tolist(),
        lc.tolist(),
        lr.tolist(),
        0.3,
        nll=nll.tolist(),
    )
    assert losses.tolist() == pytest.approx([e[0] for e in expected], rel=1e-10)


def test_preference_loss_closed_form_anchors():
    zero = torch.zeros(3, dtype=torch.float64)
    ones = torch.ones(3)
    # DPO with policy == reference: log 2 whatever beta and smoothing
    for eps in (0.0, 0.3):
        losses, c, r = L.preference_loss(
            zero, zero, zero, zero, loss_type="sigmoid", beta=0.7, label_smoothing=eps
        )
        assert torch.allclose(losses, torch.full((3,), math.log(2), dtype=torch.float64))
        assert (c == 0).all() and (r == 0).all()
    # IPO reaches 0 exactly at margin h = 1 / (2 beta)
    beta = 0.25
    h = torch.full((3,), 1 / (2 * beta), dtype=torch.float64)
    losses, _, _ = L.preference_loss(
        h, zero, zero, zero, loss_type="ipo", beta=beta, chosen_lengths=ones, rejected_lengths=ones
    )
    assert torch.allclose(losses, torch.zeros(3, dtype=torch.float64))
    # hinge is 0 beyond margin 1 / beta
    losses, _, _ = L.preference_loss(h * 2 + 0.1, zero, zero, zero, loss_type="hinge", beta=beta)
    assert (losses == 0).all()
    # SimPO: equal averages -> -log sigmoid(-gamma)
    losses, _, _ = L.preference_loss(
        -ones * 4,
        -ones * 2,
        None,
        None,
        loss_type="simpo",
        beta=2.0,
        simpo_gamma=1.0,
        chosen_lengths=ones * 4,
        rejected_lengths=ones * 2,
    )
    assert torch.allclose(losses, torch.full((3,), -log_sigmoid(-1.0)))


def test_ipo_and_simpo_average_per_token_but_sigmoid_sums():
    # same average log-prob, different lengths: averaged losses see no preference, summed ones do
    pc, pr = torch.tensor([-10.0]), torch.tensor([-20.0])
    lc, lr = torch.tensor([10]), torch.tensor([20])
    zero = torch.zeros(1)
    ipo, _, _ = L.preference_loss(
        pc, pr, zero, zero, loss_type="ipo", beta=0.5, chosen_lengths=lc, rejected_lengths=lr
    )
    assert ipo.item() == pytest.approx(1.0)  # (0 - 1/(2 * 0.5))^2
    sig, _, _ = L.preference_loss(pc, pr, zero, zero, loss_type="sigmoid", beta=0.5)
    assert sig.item() == pytest.approx(-log_sigmoid(5.0))


def test_kto_pair_kl_is_clamped_and_detached():
    pc, pr, rc, rr, _, _ = random_pairs(3)
    policy = [pc.clone().requires_grad_(True), pr.clone().requires_grad_(True)]
    losses, _, _ = L.preference_loss(*policy, rc, rr, loss_type="kto_pair", beta=0.5)
    losses.sum().backward()
    # with KL detached, d/d pi_c only goes through the first term of each pair
    for i in range(6):
        x = 0.5 * ((pc[i] - rc[i]).item() - max(0.0, ((pr - rr).mean()).item()))
        s = sigmoid(x)
        assert policy[0].grad[i].item() == pytest.approx(-0.5 * s * (1 - s), rel=1e-10)


def test_preference_loss_errors_name_the_fix():
    x = torch.zeros(2)
    with pytest.raises(ValueError, match="did you mean 'sigmoid'"):
        L.preference_loss(x, x, x, x, loss_type="sigmod", beta=0.1)
    with pytest.raises(ValueError, match="reference model"):
        L.preference_loss(x, x, None, None, loss_type="sigmoid", beta=0.1)
    with pytest.raises(ValueError, match="pass chosen_lengths"):
        L.preference_loss(x, x, x, x, loss_type="ipo", beta=0.1)
    with pytest.raises(ValueError, match="without loss tokens"):
        L.preference_loss(
            x,
            x,
            None,
            None,
            loss_type="simpo",
            beta=0.1,
            chosen_lengths=torch.tensor([3, 0]),
            rejected_lengths=torch.tensor([1, 1]),
        )
    with pytest.raises(ValueError, match="label_smoothing is defined for"):
        L.preference_loss(x, x, x, x, loss_type="hinge", beta=0.1, label_smoothing=0.1)
    with pytest.raises(ValueError, match=r"\[0, 0.5\]"):
        L.preference_loss(x, x, x, x, loss_type="sigmoid", beta=0.1, label_smoothing=0.6)
    with pytest.raises(ValueError, match="beta must be > 0"):
        L.preference_loss(x, x, x, x, loss_type="sigmoid", beta=0.0)
    with pytest.raises(ValueError, match="chosen_lengths"):
        L.preference_loss(x, x, None, None, loss_type="cpo", beta=0.1)


def test_orpo_is_stable_for_log_probs_near_zero():
    # avg log-prob -1e-9: 1 - exp(p) underflows naively in float32; the log-odds stay finite
    pc = torch.tensor([-1e-9], requires_grad=True)
    pr = torch.tensor([-3.0])
    one = torch.ones(1)
    losses, _, _ = L.preference_loss(
        pc, pr, None, None, loss_type="orpo", beta=0.2, chosen_lengths=one, rejected_lengths=one
    )
    losses.backward()
    log_odds = (-1e-9 - math.log(-math.expm1(-1e-9))) - (-3.0 - math.log(-math.expm1(-3.0)))
    assert losses.item() == pytest.approx(1e-9 - 0.2 * log_sigmoid(log_odds), rel=1e-5)
    assert torch.isfinite(pc.grad).all()


# ----------------------------------------------------------------------------------------------------
# LD-DPO


def ref_ld(logps_rows, chosen_count, rejected_count, alpha):
    public = min(chosen_count, rejected_count)
    total, rank = 0.0, 0
    for v in logps_rows:
        if v is None:
            continue
        rank += 1
        total += v if rank <= public else alpha * v
    return total


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_ld_sequence_log_probs(seed, alpha):
    chosen_logits, chosen_labels = random_batch(seed, batch=4, length=9)
    rejected_logits, rejected_labels = random_batch(seed + 100, batch=4, length=12)
    c_logps, c_mask = L.token_log_probs(chosen_logits, chosen_labels)
    r_logps, r_mask = L.token_log_probs(rejected_logits, rejected_labels)
    got_c, got_r = L.ld_sequence_log_probs(c_logps, c_mask, r_logps, r_mask, alpha)

    ref_c_rows = ref_token_log_probs(chosen_logits, chosen_labels)
    ref_r_rows = ref_token_log_probs(rejected_logits, rejected_labels)
    for i in range(4):
        nc = sum(v is not None for v in ref_c_rows[i])
        nr = sum(v is not None for v in ref_r_rows[i])
        assert got_c[i].item() == pytest.approx(ref_ld(ref_c_rows[i], nc, nr, alpha), rel=1e-12, abs=1e-12)
        assert got_r[i].item() == pytest.approx(ref_ld(ref_r_rows[i], nc, nr, alpha), rel=1e-12, abs=1e-12)
    if alpha == 1.0:  # no down-weighting: plain sums
        assert torch.allclose(got_c, c_logps.sum(-1)) and torch.allclose(got_r, r_logps.sum(-1))


def test_ld_only_touches_the_longer_reply():
    logps = torch.tensor([[-1.0, -1.0, -1.0, -1.0, 0.0]])
    longer = torch.tensor([[True, True, True, True, False]])
    shorter = torch.tensor([[False, True, True, False, False]])  # 2 loss tokens, not from column 0
    c, r = L.ld_sequence_log_probs(logps, longer, logps, shorter, 0.5)
    assert c.item() == pytest.approx(-2.0 - 0.5 * 2.0)
    assert r.item() == pytest.approx(-2.0)


# ----------------------------------------------------------------------------------------------------
# KTO


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("w_d", "w_u"), [(1.0, 1.0), (1.33, 0.7)])
def test_kto_loss_matches_formula(seed, w_d, w_u):
    g = torch.Generator().manual_seed(seed)
    policy = torch.randn(8, generator=g, dtype=torch.float64) * 5 - 30
    reference = policy + torch.randn(8, generator=g, dtype=torch.float64)
    policy_kl = torch.randn(8, generator=g, dtype=torch.float64) * 5 - 60
    reference_kl = policy_kl + torch.randn(8, generator=g, dtype=torch.float64) + (0.5 if seed else -2.0)
    desirable = torch.rand(8, generator=g) < 0.5
    desirable[0], desirable[1] = True, False
    beta = 0.1

    policy_kl_req = policy_kl.clone().requires_grad_(True)
    p = policy.clone().requires_grad_(True)
    losses, rewards, kl = L.kto_loss(p, reference, policy_kl_req, reference_kl, desirable, beta, w_d, w_u)

    z0 = max(0.0, sum(a - b for a, b in zip(policy_kl.tolist(), reference_kl.tolist(), strict=True)) / 8)
    assert kl.item() == pytest.approx(z0, abs=1e-12)
    for i in range(8):
        r = policy[i].item() - reference[i].item()
        if desirable[i]:
            expected = w_d * (1 - sigmoid(beta * (r - z0)))
        else:
            expected = w_u * (1 - sigmoid(beta * (z0 - r)))
        assert losses[i].item() == pytest.approx(expected, rel=1e-12)
        assert rewards[i].item() == pytest.approx(beta * r, rel=1e-12)
    losses.sum().backward()
    assert policy_kl_req.grad is None  # the reference point is detached
    assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


def test_kto_kl_is_clamped_at_zero_and_required():
    x = torch.zeros(2, dtype=torch.float64)
    losses, _, kl = L.kto_loss(x, x, torch.full((3,), -5.0), torch.zeros(3), torch.tensor([True, False]), 0.1)
    assert kl.item() == 0.0
    assert torch.allclose(losses, torch.full((2,), 0.5, dtype=torch.float64))
    with pytest.raises(ValueError, match="mismatched pair"):
        L.kto_loss(x, x, torch.zeros(0), torch.zeros(0), torch.tensor([True, False]), 0.1)


def test_packed_row_values_land_where_the_padded_batch_has_them():
    """Sequences of lengths 5, 1, 3 padded to [3, 6] vs laid end to end in one row (PackedCollator's layout:
    the label of each sequence's first token is ignored): token_log_probs + packed_to_rows == token_log_probs
    on the padded batch, values, mask and gradients."""
    from lmforge.train.collators import PackedCollator, PaddingCollator

    torch.manual_seed(0)
    rows = [[3, 1, 4, 1, 5], [9], [2, 6, 5]]
    labels = [[-100, 1, 4, 1, 5], [9], [-100, -100, 5]]
    vocab = 10
    features = [{"input_ids": r, "labels": y} for r, y in zip(rows, labels, strict=True)]
    padded = PaddingCollator(0, pad_to_multiple_of=6)(features)
    packed = PackedCollator()(features)
    table = torch.randn(vocab, vocab, dtype=torch.float64, requires_grad=True)  # logits: a function of the token

    ref_lp, ref_mask = L.token_log_probs(table[padded["input_ids"]], padded["labels"])
    lp, mask = L.token_log_probs(table[packed["input_ids"]], packed["labels"])
    got_lp = L.packed_to_rows(lp, packed["cu_seq_lens_q"])
    got_mask = L.packed_to_rows(mask, packed["cu_seq_lens_q"])
    assert got_lp.shape == (3, 4) and got_mask.dtype == torch.bool
    width = got_lp.shape[1]
    assert torch.equal(got_mask, ref_mask[:, :width]) and not ref_mask[:, width:].any()
    torch.testing.assert_close(got_lp, ref_lp[:, :width], rtol=0, atol=0)
    assert got_mask.sum() == 5  # 4 loss tokens of the first sequence, none of the second, 1 of the third
    (g_ref,) = torch.autograd.grad(ref_lp.sum(-1).pow(2).sum(), table)
    (g,) = torch.autograd.grad(got_lp.sum(-1).pow(2).sum(), table)
    torch.testing.assert_close(g, g_ref)


@pytest.mark.parametrize("chunk", [1024, 3])
def test_linear_token_log_probs_equal_the_logits_path(chunk):
    """hidden -> per-token log-probs through the chunked head == token_log_probs on hidden @ W.T: values,
    mask and gradients (float64); several chunks with chunk=3."""
    g = torch.Generator().manual_seed(0)
    hidden = torch.randn(2, 7, 5, generator=g, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(11, 5, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 11, (2, 7), generator=g)
    labels[0, :3] = -100
    labels[1, 5] = -100
    ref_lp, ref_mask = L.token_log_probs(hidden @ weight.T, labels)
    lp, mask = L.linear_token_log_probs(hidden, weight, labels, chunk_size=chunk)
    assert torch.equal(mask, ref_mask)
    torch.testing.assert_close(lp, ref_lp, rtol=1e-12, atol=1e-12)
    upstream = torch.randn(2, 6, generator=g, dtype=torch.float64)  # any weighting of the log-probs
    (g_ref,) = torch.autograd.grad((ref_lp * upstream).sum(), hidden)
    (g_got,) = torch.autograd.grad((lp * upstream).sum(), hidden)
    torch.testing.assert_close(g_got, g_ref, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="the head trains"):
        L.linear_token_log_probs(hidden, weight.requires_grad_(), labels)


# --------------------------------------------------------------------------------------------------
# BCO (pref_bco_weight) and token accuracy (compute_accuracy)


def _log_sigmoid64(x: float) -> float:
    return -math.log1p(math.exp(-x)) if x > 0 else x - math.log1p(math.exp(x))


@pytest.mark.parametrize("seed", [0, 1])
def test_bco_loss_matches_float64_formula(seed):
    from lmforge.train.losses import bco_loss, mix_bco

    g = torch.Generator().manual_seed(seed)
    chosen, rejected = torch.randn(6, generator=g) * 3, torch.randn(6, generator=g) * 3
    delta = 0.37
    got = bco_loss(chosen, rejected, delta)
    want = [-_log_sigmoid64(c - delta) - _log_sigmoid64(-(r - delta))
            for c, r in zip(chosen.double().tolist(), rejected.double().tolist(), strict=True)]
    torch.testing.assert_close(got.double(), torch.tensor(want, dtype=torch.float64), rtol=1e-6, atol=1e-6)
    dpo = torch.rand(6, generator=g)
    torch.testing.assert_close(mix_bco(dpo, got, 0.5), (dpo + 0.5 * got) / 1.5)


def test_bco_loss_gradient_flows_to_rewards_not_to_the_baseline():
    from lmforge.train.losses import bco_loss

    chosen = torch.tensor([0.5, -1.0], requires_grad=True)
    rejected = torch.tensor([0.2, 0.3], requires_grad=True)
    delta = torch.tensor(0.1, requires_grad=True)
    bco_loss(chosen, rejected, delta).sum().backward()
    # d/dc -log sig(c - d) = sig(c - d) - 1; d/dr -log sig(d - r) = sig(r - d)
    torch.testing.assert_close(chosen.grad, torch.sigmoid(chosen.detach() - 0.1) - 1)
    torch.testing.assert_close(rejected.grad, torch.sigmoid(rejected.detach() - 0.1))
    assert delta.grad is None


def test_running_mean_is_the_mean_of_all_batches():
    from lmforge.train.preference import RunningMean

    m = RunningMean()
    assert m.update(2.0) == pytest.approx(2.0)  # the first batch sets it (no pull towards 0)
    assert m.update(4.0) == pytest.approx(3.0)
    assert m.update(0.0, 2) == pytest.approx((2 + 4 + 0 + 0) / 4)


def test_token_and_sequence_accuracy_against_a_loop():
    from lmforge.train.losses import sequence_accuracy, token_accuracy

    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 7, 5, generator=g)
    labels = torch.randint(0, 5, (3, 7), generator=g)
    labels[0, :3] = L.IGNORE_INDEX
    labels[2, :] = L.IGNORE_INDEX  # no loss tokens: left out
    labels[1, 2] = int(logits[1, 1].argmax())  # at least one right prediction
    correct, mask = token_accuracy(logits, labels)
    want = []
    for b in range(3):
        pairs = [(int(logits[b, t].argmax()), int(labels[b, t + 1])) for t in range(6) if labels[b, t + 1] != -100]
        if pairs:
            want.append(sum(p == y for p, y in pairs) / len(pairs))
    got = sequence_accuracy(correct, mask)
    assert got.tolist() == pytest.approx(want)
    assert len(want) == 2 and want[1] > 0


# ----------------------------------------------------------------------------------------------------
# DFT / EAFT (use_dft_loss, use_eaft_loss): weighted token cross-entropy, weights detached


def ref_weighted_tokens(logits, labels, weight_of, ignore=-100):
    """[(-log p(label), weight, softmax row, label)] per loss token, all in Python floats."""
    out = []
    for row_logits, row_labels in zip(logits.double().tolist(), labels.tolist(), strict=True):
        for t in range(len(row_labels) - 1):
            label = row_labels[t + 1]
            if label == ignore:
                continue
            z = row_logits[t]
            m = max(z)
            lse = m + math.log(sum(math.exp(v - m) for v in z))
            probs = [math.exp(v - lse) for v in z]
            out.append((lse - z[label], weight_of(z, probs[label]), probs, label))
    return out


def dft_weight(z, p_label):
    return p_label


def eaft_weight(alpha):
    def weight(z, p_label):
        top = sorted(z, reverse=True)[:20]
        m = max(top)
        lse = m + math.log(sum(math.exp(v - m) for v in top))
        entropy = -sum(math.exp(v - lse) * (v - lse) for v in top)
        return (entropy / 3.0) ** alpha
    return weight


SFT_LOSSES = [
    ("dft", lambda lg, lb, n: L.dft_loss(lg, lb, num_items_in_batch=n), dft_weight),
    ("eaft1", lambda lg, lb, n: L.eaft_loss(lg, lb, num_items_in_batch=n), eaft_weight(1.0)),
    ("eaft0.5", lambda lg, lb, n: L.eaft_loss(lg, lb, num_items_in_batch=n, alpha=0.5), eaft_weight(0.5)),
]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name, loss_fn, weight_of", SFT_LOSSES, ids=[s[0] for s in SFT_LOSSES])
def test_sft_weighted_losses_value_and_gradient(seed, name, loss_fn, weight_of):
    logits, labels = random_batch(seed, vocab=30)  # 30 > 20: EAFT's top-20 entropy leaves tokens out
    tokens = ref_weighted_tokens(logits, labels, weight_of)
    for n in (None, len(tokens) + 5, torch.tensor(len(tokens) + 5)):
        divisor = len(tokens) if n is None else int(n)
        x = logits.clone().requires_grad_(True)
        loss = loss_fn(x, labels, n)
        assert loss.item() == pytest.approx(sum(ce * w for ce, w, _, _ in tokens) / divisor, rel=1e-12)
        loss.backward()
        # d/dz [w.detach() * -log p(label)] = w * (softmax - onehot) / divisor
        want = torch.zeros_like(logits)
        flat = [(b, t) for b in range(labels.shape[0]) for t in range(labels.shape[1] - 1)
                if labels[b, t + 1] != -100]
        for (b, t), (_, w, probs, label) in zip(flat, tokens, strict=True):
            for v, p in enumerate(probs):
                want[b, t, v] = w * (p - (v == label)) / divisor
        assert torch.allclose(x.grad, want, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_sft_weighted_losses_upcast_low_precision_logits(dtype):
    logits, labels = random_batch(0, vocab=30)
    for fn, weight_of in ((L.dft_loss, dft_weight), (L.eaft_loss, eaft_weight(1.0))):
        tokens = ref_weighted_tokens(logits.to(dtype), labels, weight_of)
        loss = fn(logits.to(dtype), labels)
        assert loss.dtype == torch.float32
        assert loss.item() == pytest.approx(sum(ce * w for ce, w, _, _ in tokens) / len(tokens), rel=1e-5)


def test_sft_weighted_losses_without_loss_tokens_are_zero():
    logits, labels = random_batch(0)
    labels[:] = -100
    assert L.dft_loss(logits, labels).item() == 0.0 and L.eaft_loss(logits, labels).item() == 0.0
