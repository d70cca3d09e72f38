"""Serving a reward model (trained with stage: rm): POST /v1/score/evaluation returns one score per text.

A reward model is the causal LM's network with a scalar head on the last token, saved in transformers'
sequence-classification format (for LoRA, the head travels with the adapter), so it loads with the same
`load_model(..., head="score")` training used.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import torch
from pydantic import BaseModel, Field

from lmforge.config import Config
from lmforge.errors import LmforgeError


class RewardEngine:
    def __init__(self, model, tokenizer, *, max_length: int = 2048):
        self.model, self.tokenizer, self.max_length = model.eval(), tokenizer, max_length
        self.device = next(model.parameters()).device

    @classmethod
    def from_config(cls, cfg: Config) -> RewardEngine:
        from lmforge.models.adapters import apply_finetuning
        from lmforge.models.loader import load_model, load_tokenizer

        tokenizer = load_tokenizer(cfg.model)
        model = load_model(cfg, tokenizer, trainable=False, head="score")
        model = apply_finetuning(model, cfg, is_trainable=False)
        return cls(model, tokenizer, max_length=cfg.data.cutoff_len)

    def settings(self, _gen: dict[str, Any]):
        raise LmforgeError("this server hosts a reward model (stage: rm): it scores texts with "
                           "POST /v1/score/evaluation and does not generate")

    @torch.no_grad()
    def score(self, texts: list[str], max_length: int | None = None) -> list[float]:
        """Each text is already rendered with the chat template (prompt + reply), as rm training saw it."""
        limit = max_length or self.max_length
        rows = [self.tokenizer(t, add_special_tokens=False, truncation=True, max_length=limit).input_ids
                for t in texts]
        if any(not r for r in rows):
            raise LmforgeError("an empty text cannot be scored")
        length = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([r + [pad] * (length - len(r)) for r in rows], device=self.device)
        mask = torch.tensor([[1] * len(r) + [0] * (length - len(r)) for r in rows], device=self.device)
        return self.model(input_ids=ids, attention_mask=mask).logits[:, 0].float().tolist()


class ScoreRequest(BaseModel):
    model: str | None = None
    messages: list[str] = Field(min_length=1)
    max_length: int | None = Field(default=None, ge=1)


def add_score_route(app, server) -> None:
    """POST /v1/score/evaluation: {"messages": [text, ...]} -> {"scores": [float, ...]} (LLaMA-Factory's shape)."""
    from lmforge.infer.api import APIError

    @app.post("/v1/score/evaluation", dependencies=app.state.auth)
    async def score_evaluation(req: ScoreRequest) -> dict[str, Any]:
        engine = server.engine
        if not isinstance(engine, RewardEngine):
            raise APIError(400, "this server does not host a reward model; start it with stage: rm")
        try:
            async with server.limit:
                scores = await asyncio.to_thread(engine.score, req.messages, req.max_length)
        except LmforgeError as e:
            raise APIError(400, str(e)) from None
        return {"id": f"scoreval-{uuid.uuid4().hex}", "object": "score.evaluation",
                "model": req.model or server.model_name, "scores": scores}
