"""`do_predict` with `predict_with_generate`: generate a reply for every prompt of the eval set, write
generated_predictions.jsonl and predict_results.json (BLEU-4, ROUGE-1/2/L against the reference replies)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import torch
from tqdm import tqdm

from lmforge.config import Config
from lmforge.eval.metrics import similarity_scores

log = logging.getLogger(__name__)


def stop_token_ids(tokenizer, template) -> list[int]:
    """The eos id and every template stop word that is a single token."""
    ids = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    for word in getattr(template, "stop_words", []) or []:
        tok = tokenizer.convert_tokens_to_ids(word)
        if isinstance(tok, int) and tok != tokenizer.unk_token_id:
            ids.add(tok)
    return sorted(ids)


@torch.no_grad()
def predict_with_generate(model, tokenizer, template, dataset, cfg: Config) -> dict[str, float]:
    from lmforge.models.batching import left_pad

    out_dir = Path(cfg.training.output_dir)
    gen = cfg.generation.to_generate_kwargs()
    if cfg.data.eval_num_beams:
        gen["num_beams"] = cfg.data.eval_num_beams
    gen["eos_token_id"] = stop_token_ids(tokenizer, template)
    gen["pad_token_id"] = tokenizer.pad_token_id
    model.eval()
    device = next(model.parameters()).device
    batch_size = cfg.training.per_device_eval_batch_size
    rows = list(dataset)
    predictions, references, prompts = [], [], []
    start = time.perf_counter()
    generated_tokens = 0
    for i in tqdm(range(0, len(rows), batch_size), desc="Predicting", unit="batch"):
        batch = rows[i:i + batch_size]
        ids, mask = left_pad([r["input_ids"] for r in batch], tokenizer.pad_token_id)
        out = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), **gen)
        new = out[:, ids.shape[1]:]
        for row, seq in zip(batch, new, strict=True):
            keep = seq[seq != tokenizer.pad_token_id]
            generated_tokens += int(keep.numel())
            predictions.append(tokenizer.decode(keep, skip_special_tokens=cfg.generation.skip_special_tokens))
            references.append(tokenizer.decode([t for t in row["labels"] if t >= 0], skip_special_tokens=True))
            prompts.append(tokenizer.decode(row["input_ids"], skip_special_tokens=False))
    elapsed = time.perf_counter() - start
    with (out_dir / "generated_predictions.jsonl").open("w", encoding="utf-8") as fh:
        for prompt, pred, ref in zip(prompts, predictions, references, strict=True):
            fh.write(json.dumps({"prompt": prompt, "predict": pred, "label": ref}, ensure_ascii=False) + "\n")
    metrics = {f"predict_{k}": v for k, v in similarity_scores(predictions, references).items()}
    metrics.update({"predict_samples": len(rows), "predict_runtime": round(elapsed, 3),
                    "predict_tokens_per_second": round(generated_tokens / max(elapsed, 1e-9), 2)})
    (out_dir / "predict_results.json").write_text(json.dumps(metrics, indent=2))
    log.info("predictions: %s (%d rows); metrics: %s", out_dir / "generated_predictions.jsonl", len(rows), metrics)
    return metrics
