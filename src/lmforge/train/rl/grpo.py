"""stage grpo: Group Relative Policy Optimization on the shared training loop.

One optimisation step (gradient_accumulation_steps micro-batches of per_device_train_batch_size prompts):
  1. rollouts (get_batch_samples): each prompt's num_generations completions are sampled from the policy
     (LoRA: with its adapter applied, nothing merged), scored by the reward functions and turned into
     group-normalised advantages; with num_iterations > 1 the log-probs of the sampling policy (old) and
     with beta > 0 those of the reference are computed once, here.
  2. compute_loss on each micro-batch: the clipped surrogate (losses.grpo_loss) + beta x KL.
num_iterations > 1 reuses the same rollouts for that many optimisation steps (the sampler repeats each
step's prompts that many times, so epochs and max_steps count optimisation steps as usual); the importance
ratio is then taken against the old log-probs and clipped to [1 - epsilon, 1 + epsilon_high].

Batches are [prompt (left padded) | completion (right padded)]; log-probs are those of the completion
tokens under logits / temperature, the distribution the completions were sampled from.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections import defaultdict

import torch
from torch.utils.data import Sampler

from lmforge.errors import DataError
from lmforge.models.batching import left_pad
from lmforge.train.preference import _MetricsMixin
from lmforge.train.rl.losses import group_advantages, grpo_loss
from lmforge.train.rl.rewards import call_reward, load_reward_funcs
from lmforge.train.trainer import LmforgeTrainer

log = logging.getLogger(__name__)


class PromptCollator:
    """Prompt batches stay lists of rows: the rollouts turn them into tensors."""

    def __init__(self, pad_token_id: int | None = None, pad_to_multiple_of: int | None = None):
        self.pad_token_id = pad_token_id

    def __call__(self, rows: list[dict]) -> list[dict]:
        return rows


class RepeatedBlockSampler(Sampler):
    """Indices in blocks of `block` (the prompts of one optimisation step on all processes), each block
    yielded `repeats` times in a row (num_iterations). A last block shorter than `block` is left out, so
    every optimisation step sees whole rollouts. Shuffled anew each epoch unless shuffle is false."""

    def __init__(self, n: int, block: int, repeats: int, *, shuffle: bool = True, seed: int = 0):
        if n < block:
            raise DataError(f"stage grpo: {n} prompts are fewer than one optimisation step needs ({block} = "
                             "per_device_train_batch_size x gradient_accumulation_steps x processes)")
        self.n, self.block, self.repeats, self.shuffle, self.seed = n, block, repeats, shuffle, seed
        self.epoch = 0

    def __len__(self) -> int:
        return (self.n // self.block) * self.block * self.repeats

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        self.epoch += 1  # the next pass gets a new order even when nobody calls set_epoch
        order = torch.randperm(self.n, generator=g).tolist() if self.shuffle else list(range(self.n))
        for start in range(0, (self.n // self.block) * self.block, self.block):
            chunk = order[start:start + self.block]
            for _ in range(self.repeats):
                yield from chunk


def completion_mask(completions: torch.Tensor, stop_ids: list[int]) -> torch.Tensor:
    """1 up to and including the first stop token of each row (all ones where there is none)."""
    is_stop = torch.isin(completions, torch.tensor(stop_ids, device=completions.device))
    width = completions.shape[1]
    first = torch.where(is_stop.any(1), is_stop.int().argmax(1), torch.full_like(is_stop[:, 0], width,
                                                                                  dtype=torch.long))
    return (torch.arange(width, device=completions.device)[None] <= first[:, None]).long()


def completion_logps(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, width: int,
                     temperature: float) -> torch.Tensor:
    """[N, width] log-probs of the last `width` tokens (the completions) under softmax(logits / temperature).
    Rows are [left-padded prompt | completion]: positions count real tokens only, so a row's log-probs do not
    depend on the padding it got."""
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    logits = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False,
                   logits_to_keep=width + 1).logits[:, :-1]
    logits = logits.float() / temperature
    targets = input_ids[:, -width:]
    # the chosen logit minus logsumexp: no second [N, width, vocab] tensor (log_softmax would make one)
    return torch.gather(logits, 2, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, -1)


class GRPOTrainer(_MetricsMixin, LmforgeTrainer):
    def __init__(self, *args, ref_model=None, template=None, reward_funcs=None, **kwargs):
        super().__init__(*args, **kwargs)
        f = self.lmforge_config.finetuning
        self._metrics = {"train": defaultdict(list), "eval": defaultdict(list)}
        self.model_accepts_loss_kwargs = False
        self.loss_is_scaled_for_ga = True  # compute_loss scales for accumulation itself (dapo: global tokens)
        funcs = reward_funcs if reward_funcs is not None else load_reward_funcs(f.reward_funcs)
        self.reward_names, self.reward_funcs = list(funcs), list(funcs.values())
        weights = f.reward_weights or [1.0] * len(self.reward_funcs)
        self.reward_weights = torch.tensor(weights, dtype=torch.float32)
        self.ref_model = ref_model
        if ref_model is not None:
            self.ref_model = self.prepare_reference(ref_model)
        self.stop_ids = [self.processing_class.eos_token_id]
        if template is not None:
            self.set_template(template)
        self._rollouts_buffer: list[dict] | None = None
        self._calls = 0

    def set_template(self, template) -> None:
        """Generation stops at the eos token and the template's single-token stop words."""
        from lmforge.train.predict import stop_token_ids

        self.stop_ids = stop_token_ids(self.processing_class, template)

    # -- data ------------------------------------------------------------------------------------------------
    def _get_train_sampler(self, train_dataset=None):
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        a = self.args
        block = a.per_device_train_batch_size * a.gradient_accumulation_steps * a.world_size
        shuffle = _plain(a.train_sampling_strategy) != "sequential"
        return RepeatedBlockSampler(len(dataset), block, self.lmforge_config.finetuning.num_iterations,
                                    shuffle=shuffle, seed=a.seed)

    def get_batch_samples(self, epoch_iterator, num_batches, device):
        """The prompt batches of one optimisation step -> their rollouts (new ones every num_iterations
        steps, else the stored ones) and the completion tokens of the step on all processes (dapo's
        normaliser)."""
        prompts = []
        for _ in range(num_batches):
            try:
                prompts.append(next(epoch_iterator))
            except StopIteration:
                break
        if not prompts:
            return [], None
        iterations = self.lmforge_config.finetuning.num_iterations
        buffer = self._rollouts_buffer
        if self._calls % iterations == 0 or buffer is None or len(buffer) != len(prompts):
            buffer = self._rollouts_buffer = [self._rollout(rows) for rows in prompts]
        self._calls += 1
        tokens = sum(b["completion_mask"].sum() for b in buffer).to(self.args.device)
        return buffer, self.accelerator.gather(tokens.reshape(1)).sum()

    # -- rollouts --------------------------------------------------------------------------------------------
    @torch.no_grad()
    def _rollout(self, rows: list[dict]) -> dict:
        f, g = self.lmforge_config.finetuning, self.lmforge_config.generation
        tok = self.processing_class
        n = f.num_generations
        rows = [r for r in rows for _ in range(n)]  # each prompt's completions are contiguous: one group
        prompt_ids, prompt_mask = left_pad([r["input_ids"] for r in rows], tok.pad_token_id)
        device = self.args.device
        prompt_ids, prompt_mask = prompt_ids.to(device), prompt_mask.to(device)
        policy = self.accelerator.unwrap_model(self.model)
        was_training = policy.training
        policy.eval()
        with self.accelerator.autocast():  # the unwrapped model's generate runs outside the training autocast
            out = policy.generate(input_ids=prompt_ids, attention_mask=prompt_mask, do_sample=True,
                                  temperature=g.temperature, top_p=g.top_p, top_k=g.top_k,
                                  repetition_penalty=g.repetition_penalty, max_new_tokens=f.max_completion_length,
                                  eos_token_id=self.stop_ids, pad_token_id=tok.pad_token_id, use_cache=True)
        policy.train(was_training)
        completions = out[:, prompt_ids.shape[1]:]
        if completions.shape[1] == 0:
            completions = torch.full((len(rows), 1), tok.pad_token_id, device=device, dtype=torch.long)
        cmask = completion_mask(completions, self.stop_ids)
        kept = [c[m.bool()].tolist() for c, m in zip(completions, cmask, strict=True)]
        texts = tok.batch_decode(kept, skip_special_tokens=True)
        columns = [{**r["columns"], "completion_ids": ids} for r, ids in zip(rows, kept, strict=True)]
        rewards = self._rewards([r["prompt"] for r in rows], texts, columns)
        total = torch.nansum(rewards * self.reward_weights[None], dim=1)
        advantages = group_advantages(total, n, f.scale_rewards)
        batch = {"input_ids": torch.cat([prompt_ids, completions], 1),
                 "attention_mask": torch.cat([prompt_mask, cmask], 1),
                 "completion_mask": cmask, "advantages": advantages.to(device)}
        if f.num_iterations > 1:
            batch["old_logps"] = self._completion_logps(self.model, batch)
        if f.beta != 0.0:
            ref_model, ctx = self._reference_context()
            with ctx:
                batch["ref_logps"] = self._completion_logps(ref_model, batch)
        stopped = torch.isin(completions, torch.tensor(self.stop_ids, device=device)).any(1)
        self._log_rollout(rewards, total, cmask, stopped, n)
        return batch

    def _rewards(self, prompts: list[str], completions: list[str], columns: list[dict]) -> torch.Tensor:
        """[completions, reward functions]; nan where a function had no opinion."""
        keys = dict.fromkeys(k for c in columns for k in c)
        by_column = {k: [c.get(k) for c in columns] for k in keys}
        out = torch.empty(len(completions), len(self.reward_funcs), dtype=torch.float32)
        for j, (name, func) in enumerate(zip(self.reward_names, self.reward_funcs, strict=True)):
            out[:, j] = torch.tensor(call_reward(name, func, prompts, completions, by_column))
        if torch.isnan(out).all(1).any():
            log.warning("every reward function returned None for some completions: their reward is 0")
        return out

    def _log_rollout(self, rewards: torch.Tensor, total: torch.Tensor, cmask: torch.Tensor, stopped: torch.Tensor,
                     n: int) -> None:
        lengths = cmask.sum(1).float()
        clipped = ~stopped  # reached max_completion_length without a stop token
        metrics = {"reward": total.mean(), "reward_std": total.std() if total.numel() > 1 else total.new_zeros(()),
                   "frac_reward_zero_std": (total.view(-1, n).std(1) < 1e-6).float().mean() if n > 1
                   else total.new_ones(()),
                   "completions/mean_length": lengths.mean(), "completions/min_length": lengths.min(),
                   "completions/max_length": lengths.max(), "completions/clipped_ratio": clipped.float().mean()}
        for j, name in enumerate(self.reward_names):
            column = rewards[:, j]
            column = column[~torch.isnan(column)]
            if column.numel():
                metrics[f"rewards/{name}/mean"] = column.mean()
                metrics[f"rewards/{name}/std"] = column.std() if column.numel() > 1 else column.new_zeros(())
        self._store(metrics, train=True)

    # -- log-probs -------------------------------------------------------------------------------------------
    def _reference_context(self):
        """The reference: a separate frozen model, or (LoRA) the policy with its adapter disabled."""
        if self.ref_model is not None:
            return self.ref_model, contextlib.nullcontext()
        return self.model, self.accelerator.unwrap_model(self.model).disable_adapter()

    def _completion_logps(self, model, batch: dict) -> torch.Tensor:
        return completion_logps(model, batch["input_ids"], batch["attention_mask"],
                                batch["completion_mask"].shape[1], self.lmforge_config.generation.temperature)

    # -- loss ------------------------------------------------------------------------------------------------
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        f = self.lmforge_config.finetuning
        if model.training:
            self._tokens_since_log += int(inputs["attention_mask"].sum())
        logps = self._completion_logps(model, inputs)
        old = inputs.get("old_logps")
        loss, metrics = grpo_loss(
            logps, old if old is not None else logps.detach(), inputs["advantages"], inputs["completion_mask"],
            loss_type=f.loss_type, epsilon_low=f.epsilon, epsilon_high=f.epsilon_high, beta=f.beta,
            ref_logps=inputs.get("ref_logps"), max_completion_length=f.max_completion_length,
            num_items=float(num_items_in_batch) if num_items_in_batch is not None else None)
        if f.loss_type == "dapo":  # normalised by every process's tokens; DDP averages over processes
            loss = loss * self.accelerator.num_processes
        else:  # a micro-batch mean: the step's loss is the mean over its micro-batches
            loss = loss / self.current_gradient_accumulation_steps
        self._store(metrics, model.training)
        return (loss, {}) if return_outputs else loss

    def log(self, logs, start_time=None):
        if "loss" in logs and not math.isfinite(logs["loss"]):
            log.warning("grpo: the loss is %s", logs["loss"])
        super().log(logs, start_time)


def _plain(value):
    return getattr(value, "value", value)
