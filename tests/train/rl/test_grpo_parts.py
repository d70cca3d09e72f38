"""The trainer's small parts: the repeated-block sampler (num_iterations), completion masks, left padding."""

import torch

from lmforge.train.rl.grpo import RepeatedBlockSampler, completion_mask, left_pad


def test_each_block_repeats_num_iterations_times_and_covers_the_data():
    sampler = RepeatedBlockSampler(10, 4, 3, shuffle=True, seed=0)
    order = list(sampler)
    assert len(order) == len(sampler) == 2 * 4 * 3  # the last 2 prompts do not fill a block
    blocks = [order[i:i + 4] for i in range(0, len(order), 4)]
    assert blocks[0] == blocks[1] == blocks[2] and blocks[3] == blocks[4] == blocks[5]
    assert len(set(blocks[0]) | set(blocks[3])) == 8
    assert list(sampler) != order  # a new order each pass
    sampler.set_epoch(0)
    assert list(sampler) == order  # set_epoch picks the order
    assert list(RepeatedBlockSampler(8, 4, 1, shuffle=False)) == list(range(8))


def test_too_few_prompts_for_one_step_is_a_data_error():
    import pytest

    from lmforge.errors import DataError

    with pytest.raises(DataError, match="3 prompts are fewer than one optimisation step needs"):
        RepeatedBlockSampler(3, 4, 1)


def test_completion_mask_stops_after_the_first_stop_token():
    completions = torch.tensor([[5, 6, 2, 2], [5, 9, 6, 7], [2, 0, 0, 0], [5, 3, 7, 7]])
    mask = completion_mask(completions, [2, 3])
    assert mask.tolist() == [[1, 1, 1, 0], [1, 1, 1, 1], [1, 0, 0, 0], [1, 1, 0, 0]]


def test_left_pad():
    ids, mask = left_pad([[1, 2, 3], [4]], 0)
    assert ids.tolist() == [[1, 2, 3], [0, 0, 4]] and mask.tolist() == [[1, 1, 1], [0, 0, 1]]


def test_completion_logps_do_not_depend_on_left_padding():
    from pathlib import Path

    from transformers import AutoModelForCausalLM

    from lmforge.train.rl.grpo import completion_logps

    model = AutoModelForCausalLM.from_pretrained(Path(__file__).resolve().parents[3] / "examples" / "tiny-phi3",
                                                 dtype=torch.float32).eval()
    short, long = [5, 6, 7], [8, 9, 10, 11, 12, 13]
    completions = [[20, 21, 22], [30, 31, 32]]
    ids, mask = left_pad([short, long], 0)
    batch = torch.cat([ids, torch.tensor(completions)], 1)
    full_mask = torch.cat([mask, torch.ones(2, 3, dtype=torch.long)], 1)
    with torch.no_grad():
        together = completion_logps(model, batch, full_mask, 3, 0.7)
        alone = completion_logps(model, torch.tensor([short + completions[0]]), torch.ones(1, 6, dtype=torch.long),
                                 3, 0.7)
        logits = model(torch.tensor([short + completions[0]])).logits[0, 2:5].double() / 0.7
    assert torch.allclose(together[0], alone[0], atol=1e-5)
    want = logits.log_softmax(-1).gather(1, torch.tensor([[20], [21], [22]])).squeeze(1)
    assert torch.allclose(alone[0].double(), want, atol=1e-5)
