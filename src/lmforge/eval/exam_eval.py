"""`lmforge eval`: score a model on a multiple-choice exam (MMLU, C-Eval, CMMLU, or one laid out like them).

The protocol is the one LLaMA-Factory's `eval` runs, so scores compare with its: every question becomes a
conversation in the model's template: `n_shot` solved examples of the subject's dev split as earlier
user/assistant turns, then the question as the last user turn; the instruction ("The following are multiple
choice questions (with answers) about {subject}.", MMLU's original wording, or C-Eval's Chinese one with
`lang: zh`) opens the first user turn. The prediction is whichever of the tokens of A, B, C, D (each letter's
last token on its own) has the highest next-token logit after the generation prompt; for templates with a
reasoning format the prompt closes an empty reasoning block first (enable_thinking false), so the answer is
the reply's first token. Few-shot examples are drawn per subject with the run's `seed` (LLaMA-Factory shuffles
them differently on every run).

Scores are accuracies in percent: per category of mapping.json and "Average" over all questions (each
question counts once). With save_dir: results.json ({subject: {question index: predicted letter}}, as
LLaMA-Factory writes it) and results.log (the scores, then each subject's).
"""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import torch
from tqdm import tqdm

from lmforge.config import Config
from lmforge.errors import ConfigError, DataError
from lmforge.eval.exams import CHOICES, Exam, Question, Subject, load_exam

log = logging.getLogger("lmforge")

# (instruction before the first question, one choice line, what ends a question); MMLU's and C-Eval's wording
INSTRUCTIONS = {
    "en": ("The following are multiple choice questions (with answers) about {subject}.\n\n", "\n{choice}. {content}",
           "\nAnswer:"),
    "zh": ("以下是中国关于{subject}考试的单项选择题，请选出其中的正确答案。\n\n", "\n{choice}. {content}", "\n答案："),
}
CATEGORY_ORDER = ("STEM", "Social Sciences", "Humanities", "Other")


def question_text(q: Question, lang: str) -> str:
    _, choice, answer = INSTRUCTIONS[lang]
    return q.question + "".join(choice.format(choice=c, content=q.choices[c]) for c in CHOICES) + answer


def exam_messages(q: Question, examples: list[Question], subject_name: str, lang: str) -> list[dict[str, str]]:
    """The conversation that asks `q` after the solved `examples`."""
    messages = []
    for ex in examples:
        messages += [{"role": "user", "content": question_text(ex, lang)}, {"role": "assistant", "content": ex.answer}]
    messages.append({"role": "user", "content": question_text(q, lang)})
    messages[0]["content"] = INSTRUCTIONS[lang][0].format(subject=subject_name) + messages[0]["content"]
    return messages


def choice_token_ids(tokenizer) -> list[int]:
    """The token each answer letter ends in, encoded on its own (what LLaMA-Factory compares)."""
    ids = [tokenizer.encode(c, add_special_tokens=False)[-1] for c in CHOICES]
    if len(set(ids)) != len(ids):
        raise DataError(f"the tokenizer encodes the answer letters {CHOICES} to repeated tokens {ids}")
    return ids


@torch.inference_mode()
def choice_probabilities(model, prompts: list[list[int]], choice_ids: list[int], pad_id: int) -> torch.Tensor:
    """[len(prompts), 4]: softmax over the answer letters' next-token logits after each prompt. Left padding
    with each row's own positions, so a row scores the same in any batch."""
    from lmforge.models.batching import left_pad

    ids, mask = left_pad(prompts, pad_id, next(model.parameters()).device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=1).logits[:, -1]
    return torch.softmax(logits[:, choice_ids].float(), dim=-1).cpu()


def score_subject(engine, subject: Subject, *, lang: str, n_shot: int, seed: int, batch_size: int,
                  choice_ids: list[int]) -> list[str]:
    """The predicted letter of each question of `subject`."""
    examples = random.Random(f"{seed}:{subject.key}").sample(subject.examples, min(n_shot, len(subject.examples)))
    prompts = []
    for q in subject.questions:
        text = engine.prompt(exam_messages(q, examples, subject.name, lang), enable_thinking=False)
        try:
            prompts.append(engine.encode(text))
        except ValueError as e:
            raise DataError(f"{q.where}: {e} (fewer examples: lower n_shot)") from None
    predictions = []
    for start in range(0, len(prompts), batch_size):
        probs = choice_probabilities(engine.model, prompts[start:start + batch_size], choice_ids, engine.pad_id)
        predictions += [CHOICES[i] for i in probs.argmax(-1).tolist()]
    return predictions


def _marks(subject: Subject, predicted: list[str]) -> list[bool]:
    return [p == q.answer for p, q in zip(predicted, subject.questions, strict=True)]


def scores(exam: Exam, predictions: dict[str, list[str]]) -> dict[str, float]:
    """Accuracy in percent: "Average" over all questions, then per category (mapping.json's order of
    LLaMA-Factory's four first, others after)."""
    right: dict[str, list[bool]] = {"Average": []}
    for subject in exam.subjects:
        marks = _marks(subject, predictions[subject.key])
        right["Average"] += marks
        right.setdefault(subject.category, []).extend(marks)
    order = ["Average", *[c for c in CATEGORY_ORDER if c in right], *sorted(set(right) - {"Average", *CATEGORY_ORDER})]
    return {c: 100 * sum(right[c]) / len(right[c]) for c in order if right[c]}


def run_eval(cfg: Config) -> dict[str, float]:
    from lmforge.infer.engine import HuggingfaceEngine
    from lmforge.logs import setup_logging

    setup_logging()
    ev = cfg.evaluation
    save_dir = Path(ev.save_dir) if ev.save_dir else None
    if save_dir is not None and (save_dir / "results.json").exists():
        raise ConfigError(f"save_dir: {save_dir} holds results.json already; choose another save_dir or remove it")
    exam = load_exam(ev.task, ev.task_dir, few_shot=ev.n_shot > 0)
    total = sum(len(s.questions) for s in exam.subjects)
    log.info("eval: %s, split %s: %d subjects, %d questions from %s; %d-shot, lang %s", exam.name, exam.split,
             len(exam.subjects), total, exam.source, ev.n_shot, ev.lang)
    engine = HuggingfaceEngine.from_config(cfg)
    choice_ids = choice_token_ids(engine.tokenizer)
    predictions: dict[str, list[str]] = {}
    with tqdm(total=total, desc="eval", unit="question") as bar:
        for subject in exam.subjects:
            bar.set_postfix_str(subject.key)
            predictions[subject.key] = score_subject(engine, subject, lang=ev.lang, n_shot=ev.n_shot,
                                                     seed=cfg.training.seed, batch_size=ev.batch_size,
                                                     choice_ids=choice_ids)
            bar.update(len(subject.questions))
    result = scores(exam, predictions)
    table = "\n".join(f"{name:>15}: {value:.2f}" for name, value in result.items())
    print(table)
    if save_dir is not None:
        save_dir.mkdir(parents=True, exist_ok=True)
        (save_dir / "results.json").write_text(json.dumps(
            {k: {str(i): p for i, p in enumerate(v)} for k, v in predictions.items()}, indent=2, ensure_ascii=False),
            encoding="utf-8")
        per_subject = "\n".join(f"{s.key:>40}: {100 * sum(m) / len(m):.2f}" for s in exam.subjects
                                if (m := _marks(s, predictions[s.key])))
        (save_dir / "results.log").write_text(f"{table}\n\nper subject:\n{per_subject}\n", encoding="utf-8")
        log.info("eval: results in %s", save_dir)
    return result
