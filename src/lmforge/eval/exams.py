"""Multiple-choice exams on disk: MMLU, C-Eval, CMMLU, and any exam laid out like them.

An exam is a folder `task_dir/NAME` holding CSV files, directly or inside a zip file (LLaMA-Factory's
`evaluation/` folder ships `mmlu/mmlu.zip`, `ceval/ceval.zip`, `cmmlu/cmmlu.zip` this way), plus an optional
`mapping.json` ({subject: {"name": ..., "category": ...}}). Each CSV file holds one subject's questions of one
split; the split is the name of the folder the file is in (`dev`, `val`, `test`), the subject its file name
without a trailing `_SPLIT`:

    mmlu:   data/test/abstract_algebra_test.csv   no header: question, A, B, C, D, answer
    ceval:  val/accountant_val.csv                header:    id, question, A, B, C, D, answer, explanation
    cmmlu:  test/agronomy.csv                     header:    (index), Question, A, B, C, D, Answer

A file with a header row (it names `question` and `answer` columns, any case) is read by column name; a file
without one as the six MMLU columns. `task: NAME_SPLIT` scores split SPLIT (`validation` means the `val`
folder); few-shot examples come from the subject's `dev` split.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lmforge.errors import DataError

CHOICES = ("A", "B", "C", "D")
SPLIT_FOLDERS = {"validation": "val", "train": "dev"}  # LLaMA-Factory's split names -> the exams' folders
FEW_SHOT_SPLIT = "dev"


@dataclass
class Question:
    question: str
    choices: dict[str, str]  # letter -> text
    answer: str  # one of CHOICES
    where: str  # file and row, for messages


@dataclass
class Subject:
    key: str  # the file name's subject part
    name: str  # what the instruction calls it (mapping.json's name, else the key with spaces)
    category: str
    questions: list[Question] = field(default_factory=list)
    examples: list[Question] = field(default_factory=list)  # the dev split: few-shot candidates


@dataclass
class Exam:
    name: str
    split: str
    source: str
    subjects: list[Subject]


def parse_task(task: str) -> tuple[str, str]:
    """`mmlu_test` -> ("mmlu", "test"); the split is after the last underscore."""
    name, sep, split = task.rpartition("_")
    if not sep or not name or not split:
        raise DataError(f"task: {task!r} must be NAME_SPLIT, e.g. mmlu_test, ceval_validation, cmmlu_test")
    return name, split


def _csv_files(root: Path) -> tuple[str, dict[str, bytes]]:
    """(where they came from, {relative path: bytes}) for the exam's CSV files: the folder's own, else those
    of the zip files in it."""
    files = {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.csv"))}
    if files:
        return str(root), files
    zips = sorted(root.glob("*.zip"))
    for archive in zips:
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                if info.filename.endswith(".csv") and not info.is_dir():
                    files[info.filename] = z.read(info)
    return (", ".join(str(z) for z in zips) or str(root)), files


def _split_and_subject(path: str) -> tuple[str, str]:
    parts = path.replace("\\", "/").split("/")
    split = parts[-2] if len(parts) >= 2 else ""
    stem = parts[-1][: -len(".csv")]
    if stem.endswith(f"_{split}"):
        stem = stem[: -len(split) - 1]
    return split, stem


def _read_questions(path: str, data: bytes, with_answers: bool) -> list[Question]:
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return []
    head = [c.strip().lower() for c in rows[0]]
    if "question" in head and "answer" in head:
        columns = {name: head.index(name.lower()) for name in ("question", *CHOICES, "answer") if name.lower() in head}
        missing = [c for c in ("question", *CHOICES) if c not in columns]
        if missing:
            raise DataError(f"{path}: the header names no column {', '.join(missing)} (it has: {', '.join(rows[0])})")
        body, first = rows[1:], 2
    else:
        columns = {"question": 0, "A": 1, "B": 2, "C": 3, "D": 4, "answer": 5}
        body, first = rows, 1
    out = []
    for n, row in enumerate(body, start=first):
        where = f"{path}, row {n}"
        if not any(c.strip() for c in row):
            continue
        if len(row) <= max(columns.values()):
            raise DataError(f"{where}: {len(row)} fields, expected {max(columns.values()) + 1} "
                            "(question, A, B, C, D, answer)")
        answer = row[columns["answer"]].strip().upper() if "answer" in columns else ""
        if with_answers and answer not in CHOICES:
            hint = " (C-Eval's test answers are not public: score ceval_validation)" if not answer else ""
            raise DataError(f"{where}: answer {row[columns['answer']]!r} is not one of A, B, C, D{hint}")
        out.append(Question(row[columns["question"]], {c: row[columns[c]] for c in CHOICES}, answer, where))
    return out


def load_exam(task: str, task_dir: str, *, few_shot: bool) -> Exam:
    """The exam `task` names, every subject of its split with its dev examples (when few_shot)."""
    name, split = parse_task(task)
    root = Path(task_dir) / name
    if not root.is_dir():
        raise DataError(f"task: {task}: no folder {root}. Put the exam there (its CSV files or zip; "
                        f"LLaMA-Factory's evaluation/{name} folder works as it is), or set task_dir; "
                        "docs/evaluation.md describes the layout")
    source, files = _csv_files(root)
    if not files:
        raise DataError(f"task: {task}: no CSV files in {root} (nor in a zip file there)")
    folder = SPLIT_FOLDERS.get(split, split)
    by_split: dict[str, dict[str, tuple[str, bytes]]] = {}
    for path, data in files.items():
        s, subject = _split_and_subject(path)
        by_split.setdefault(s, {})[subject] = (path, data)
    if folder not in by_split:
        raise DataError(f"task: {task}: {source} has no {folder}/ split (it has: {', '.join(sorted(by_split))})")
    mapping_file = root / "mapping.json"
    mapping = json.loads(mapping_file.read_text(encoding="utf-8")) if mapping_file.is_file() else {}
    subjects = []
    for key in sorted(by_split[folder]):
        path, data = by_split[folder][key]
        info = mapping.get(key, {})
        subject = Subject(key, info.get("name", key.replace("_", " ")), info.get("category", "Other"))
        subject.questions = _read_questions(f"{source}:{path}", data, with_answers=True)
        if few_shot:
            dev = by_split.get(FEW_SHOT_SPLIT, {}).get(key)
            if dev is None:
                raise DataError(f"task: {task}: subject {key} has no {FEW_SHOT_SPLIT}/ file for few-shot examples "
                                f"in {source}; set n_shot: 0 to score without examples")
            subject.examples = _read_questions(f"{source}:{dev[0]}", dev[1], with_answers=True)
        subjects.append(subject)
    return Exam(name, split, source, subjects)
