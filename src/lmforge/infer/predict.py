"""`lmforge predict`: generate a reply for every prompt of a dataset with the chat engine that
`infer_backend` names (huggingface or vllm), write generated_predictions.jsonl and predict_results.json
(BLEU-4, ROUGE-1/2/L against the dataset's replies) to output_dir.

The prompts are encoded by the data pipeline exactly as training encodes them (template, system prompt,
tools, cutoff_len truncation), with the tokenizer and template saved with the model or adapter, and handed to
the engine as token ids. The data: eval_dataset (or the val_size hold-out) when there is one, as `lmforge
train` with do_predict uses, else the whole of `dataset` (as LLaMA-Factory's scripts/vllm_infer.py).
`lmforge train` with do_predict, predict_with_generate and infer_backend: vllm runs this too.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from tqdm import tqdm

from lmforge.config import Config
from lmforge.eval.metrics import similarity_scores
from lmforge.infer.base import resolve_settings

log = logging.getLogger("lmforge")


def prediction_rows(cfg: Config, tokenizer, template):
    """The encoded prompts (input_ids) and reference replies (labels) to predict."""
    from datasets import concatenate_datasets

    from lmforge.data.loader import load_datasets

    splits = load_datasets(cfg, tokenizer, template, stage="ppo")  # prompt ids + reply ids as labels
    rows = splits.eval if splits.eval is not None else splits.train
    if isinstance(rows, dict):  # eval_on_each_dataset
        rows = concatenate_datasets(list(rows.values()))
    return rows


def run_predict(cfg: Config, engine=None) -> dict[str, float]:
    from lmforge.infer.engine import load_engine
    from lmforge.logs import setup_logging

    setup_logging()
    out_dir = Path(cfg.training.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    own_engine = engine is None
    engine = engine or load_engine(cfg)
    try:
        return predict(engine, prediction_rows(cfg, engine.tokenizer, engine.template), cfg, out_dir)
    finally:
        if own_engine and hasattr(engine, "close"):
            engine.close()


def predict(engine, rows, cfg: Config, out_dir: Path) -> dict[str, float]:
    tokenizer = engine.tokenizer
    gen = {"num_beams": cfg.data.eval_num_beams} if cfg.data.eval_num_beams else {}
    settings = resolve_settings(cfg.generation, cfg.data.enable_thinking, gen)  # this config's, not the engine's
    rows = list(rows)
    batch = engine.predict_batch_size(cfg)
    predictions, generated = [], 0
    start = time.perf_counter()
    for i in tqdm(range(0, len(rows), batch), desc=f"Predicting ({engine.name})", unit="batch"):
        prompts = [r["input_ids"] for r in rows[i:i + batch]]
        for (completion,) in engine.complete_ids(prompts, settings):
            predictions.append(completion.text)
            generated += completion.completion_tokens
    elapsed = time.perf_counter() - start
    references = [tokenizer.decode([t for t in r["labels"] if t >= 0], skip_special_tokens=True) for r in rows]
    with (out_dir / "generated_predictions.jsonl").open("w", encoding="utf-8") as fh:
        for row, pred, ref in zip(rows, predictions, references, strict=True):
            prompt = tokenizer.decode(row["input_ids"], skip_special_tokens=False)
            fh.write(json.dumps({"prompt": prompt, "predict": pred, "label": ref}, ensure_ascii=False) + "\n")
    metrics = {f"predict_{k}": v for k, v in similarity_scores(predictions, references).items()}
    metrics.update({"predict_samples": len(rows), "predict_runtime": round(elapsed, 3),
                    "predict_tokens_per_second": round(generated / max(elapsed, 1e-9), 2),
                    "predict_backend": engine.name})
    (out_dir / "predict_results.json").write_text(json.dumps(metrics, indent=2))
    log.info("predictions: %s (%d rows); metrics: %s", out_dir / "generated_predictions.jsonl", len(rows), metrics)
    return metrics
