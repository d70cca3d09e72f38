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
    sampler.set_epoch(1)
    assert list(sampler) != order  # a new order each epoch
    assert list(RepeatedBlockSampler(8, 4, 1, shuffle=False)) == list(range(8))


def test_completion_mask_stops_after_the_first_stop_token():
    completions = torch.tensor([[5, 6, 2, 2], [5, 9, 6, 7], [2, 0, 0, 0], [5, 3, 7, 7]])
    mask = completion_mask(completions, [2, 3])
    assert mask.tolist() == [[1, 1, 1, 0], [1, 1, 1, 1], [1, 0, 0, 0], [1, 1, 0, 0]]


def test_left_pad():
    ids, mask = left_pad([[1, 2, 3], [4]], 0)
    assert ids.tolist() == [[1, 2, 3], [0, 0, 4]] and mask.tolist() == [[1, 1, 1], [0, 0, 1]]
