"""Text-similarity metrics of generated replies: BLEU-4 and ROUGE-1/2/L, scaled to 0-100.

Text is segmented with jieba, so Chinese (which has no spaces) is scored by words, not whole sentences;
for English jieba splits on spaces and punctuation. BLEU-4 is sentence BLEU with NLTK's smoothing method 3
(Chen & Cherry, 2014), averaged over examples; ROUGE scores are F1 from rouge-chinese, averaged.
"""

from __future__ import annotations

from collections.abc import Sequence

from lmforge.errors import ConfigError


def _words(text: str) -> list[str]:
    import jieba

    return [w for w in jieba.lcut(text) if w.strip()]


def similarity_scores(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    try:
        import jieba
        from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
        from rouge_chinese import Rouge
    except ImportError:
        raise ConfigError("BLEU/ROUGE metrics need extra packages: pip install 'lmforge[metrics]'") from None
    jieba.setLogLevel(60)
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    rouge, smooth = Rouge(), SmoothingFunction().method3
    totals = {"bleu-4": 0.0, "rouge-1": 0.0, "rouge-2": 0.0, "rouge-l": 0.0}
    for pred, ref in zip(predictions, references, strict=True):
        hyp, gold = _words(pred), _words(ref)
        if hyp and gold:
            scores = rouge.get_scores(" ".join(hyp), " ".join(gold))[0]
            for key in ("rouge-1", "rouge-2", "rouge-l"):
                totals[key] += scores[key]["f"] * 100
        totals["bleu-4"] += sentence_bleu([gold], hyp, smoothing_function=smooth) * 100 if hyp and gold else 0.0
    n = max(len(predictions), 1)
    return {key: round(value / n, 4) for key, value in totals.items()}
