"""`lmforge eval`: multiple-choice exams (MMLU, C-Eval, CMMLU and exams laid out like them), LLaMA-Factory's
keys and defaults."""

from __future__ import annotations

from dataclasses import dataclass

from lmforge.config.fields import arg


@dataclass
class EvaluationArguments:
    task: str | None = arg(None, "The exam and split to score, NAME_SPLIT: mmlu_test, ceval_validation, cmmlu_test, "
                                 "or any folder under task_dir laid out like them (docs/evaluation.md).")
    task_dir: str = arg("evaluation", "Folder holding one folder per exam (CSV files, or the exam's zip, and an "
                                      "optional mapping.json of subject names and categories).")
    batch_size: int = arg(4, "Questions scored per forward pass.")
    lang: str = arg("en", "Language of the instruction written before the questions.", choices=["en", "zh"])
    n_shot: int = arg(5, "Solved examples from the subject's dev split shown before each question.")
    save_dir: str | None = arg(None, "Write results.json (every prediction) and results.log (the scores) here; "
                                     "it must not hold results already.")
    download_mode: str = arg("reuse_dataset_if_exists", "Accepted for LLaMA-Factory configs; exams are read "
                                                        "from task_dir, nothing is downloaded.")
