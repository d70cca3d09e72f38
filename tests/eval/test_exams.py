"""`lmforge eval`: exams read in MMLU's, C-Eval's and CMMLU's layouts (folders and zip files), the prompts of the
protocol, scores that do not depend on batching, and the command as a user runs it."""

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from lmforge.config import load_config
from lmforge.errors import ConfigError, DataError
from lmforge.eval.exam_eval import (
    choice_probabilities,
    choice_token_ids,
    exam_messages,
    question_text,
    scores,
)
from lmforge.eval.exams import Question, load_exam

REPO = Path(__file__).resolve().parents[2]
EVALUATION = REPO / "evaluation"


def _csv(rows) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def _zip(path: Path, files: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)


def test_the_demo_exam_in_mmlu_layout():
    exam = load_exam("demo_test", str(EVALUATION), few_shot=True)
    assert (exam.name, exam.split) == ("demo", "test")
    assert [(s.key, s.name, s.category) for s in exam.subjects] == [
        ("arithmetic", "arithmetic", "STEM"), ("geography", "geography", "Social Sciences")]
    arithmetic = exam.subjects[0]
    assert len(arithmetic.questions) == 8 and len(arithmetic.examples) == 5
    first = arithmetic.questions[0]
    assert (first.question, first.choices, first.answer) == (
        "What is 6 + 7?", {"A": "13", "B": "12", "C": "14", "D": "67"}, "A")
    assert first.where.endswith("test/arithmetic_test.csv, row 1")


def test_ceval_and_cmmlu_layouts_from_zip_files(tmp_path):
    """C-Eval: split folders val/ dev/, files SUBJECT_SPLIT.csv with an id..explanation header; CMMLU: files
    SUBJECT.csv with an unnamed index column; both read from the zip file in the exam's folder."""
    head = ["id", "question", "A", "B", "C", "D", "answer", "explanation"]
    _zip(tmp_path / "ceval" / "ceval.zip", {
        "val/law_val.csv": _csv([head, ["0", "问题一", "甲", "乙", "丙", "丁", "C", "因为"]]),
        "dev/law_dev.csv": _csv([head, ["0", "例题", "一", "二", "三", "四", "A", "因为"]]),
        "test/law_test.csv": _csv([head, ["0", "考题", "一", "二", "三", "四", "", ""]]),
    })
    (tmp_path / "ceval" / "mapping.json").write_text(json.dumps({"law": {"name": "法学", "category": "Humanities"}}))
    exam = load_exam("ceval_validation", str(tmp_path), few_shot=True)
    (law,) = exam.subjects
    assert (law.name, law.category) == ("法学", "Humanities")
    assert [(q.question, q.choices["C"], q.answer) for q in law.questions] == [("问题一", "丙", "C")]
    assert law.examples[0].answer == "A"
    with pytest.raises(DataError, match=r"law_test.csv, row 2: answer '' .*ceval_validation"):
        load_exam("ceval_test", str(tmp_path), few_shot=False)

    cmmlu = ["", "Question", "A", "B", "C", "D", "Answer"]
    _zip(tmp_path / "cmmlu" / "cmmlu.zip", {
        "test/agronomy.csv": _csv([cmmlu, ["0", "问", "a", "b", "c", "d", "d"], ["1", "问二", "a", "b", "c", "d", "B"]]),
        "dev/agronomy.csv": _csv([cmmlu, ["0", "例", "a", "b", "c", "d", "A"]]),
    })
    (agronomy,) = load_exam("cmmlu_test", str(tmp_path), few_shot=True).subjects
    assert (agronomy.key, agronomy.category) == ("agronomy", "Other")
    assert [q.answer for q in agronomy.questions] == ["D", "B"]


def test_bad_exams_say_what_and_where(tmp_path):
    with pytest.raises(DataError, match="must be NAME_SPLIT"):
        load_exam("mmlu", str(tmp_path), few_shot=False)
    with pytest.raises(DataError, match=r"no folder .*mmlu.*LLaMA-Factory's evaluation/mmlu"):
        load_exam("mmlu_test", str(tmp_path), few_shot=False)
    (tmp_path / "mine" / "test").mkdir(parents=True)
    (tmp_path / "mine" / "test" / "x_test.csv").write_bytes(_csv([["q", "a", "b", "c", "d", "A"],
                                                                 ["q2", "a", "b", "c", "d", "E"]]))
    with pytest.raises(DataError, match=r"x_test.csv, row 2: answer 'E' is not one of A, B, C, D"):
        load_exam("mine_test", str(tmp_path), few_shot=False)
    with pytest.raises(DataError, match=r"no val/ split \(it has: test\)"):
        load_exam("mine_validation", str(tmp_path), few_shot=False)
    (tmp_path / "mine" / "test" / "x_test.csv").write_bytes(_csv([["q", "a", "b", "c", "d", "A"]]))
    with pytest.raises(DataError, match="subject x has no dev/ file .*n_shot: 0"):
        load_exam("mine_test", str(tmp_path), few_shot=True)
    assert load_exam("mine_test", str(tmp_path), few_shot=False).subjects[0].questions[0].answer == "A"
    (tmp_path / "mine" / "test" / "x_test.csv").write_bytes(_csv([["q", "a", "b"]]))
    with pytest.raises(DataError, match="row 1: 3 fields, expected 6"):
        load_exam("mine_test", str(tmp_path), few_shot=False)


def test_prompts_follow_the_protocol(tokenizer_dir):
    """MMLU's wording (en) and C-Eval's (zh); solved examples as earlier turns; rendered by the fewshot
    template as LLaMA-Factory's fewshot renders them: turns run together, replies end in a blank line."""
    from transformers import AutoTokenizer

    from lmforge.infer.base import to_conversation
    from lmforge.templates import get_template

    q = Question("What is 1 + 1?", {"A": "1", "B": "2", "C": "3", "D": "4"}, "B", "x")
    ex = Question("What is 2 + 2?", {"A": "4", "B": "3", "C": "2", "D": "1"}, "A", "y")
    assert question_text(q, "en") == "What is 1 + 1?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer:"
    assert question_text(q, "zh").endswith("\nD. 4\n答案：")
    messages = exam_messages(q, [ex], "arithmetic", "en")
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    template = get_template("fewshot", AutoTokenizer.from_pretrained(tokenizer_dir("qwen3")))
    assert template.render_prompt(to_conversation(messages)) == (
        "The following are multiple choice questions (with answers) about arithmetic.\n\n"
        "What is 2 + 2?\nA. 4\nB. 3\nC. 2\nD. 1\nAnswer:A\n\n"
        "What is 1 + 1?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer:")
    zh = exam_messages(q, [], "法学", "zh")
    assert zh[0]["content"].startswith("以下是中国关于法学考试的单项选择题，请选出其中的正确答案。\n\nWhat is 1 + 1?")


def test_scores_weigh_questions_and_keep_categories(tmp_path):
    exam = load_exam("demo_test", str(EVALUATION), few_shot=False)
    right = {s.key: [q.answer for q in s.questions] for s in exam.subjects}
    assert scores(exam, right) == {"Average": 100.0, "STEM": 100.0, "Social Sciences": 100.0}
    half = dict(right, geography=["A" if a != "A" else "B" for a in right["geography"]])  # all wrong
    assert scores(exam, half) == {"Average": 50.0, "STEM": 100.0, "Social Sciences": 0.0}


@pytest.mark.parametrize("family", ["qwen3", "gpt2"])
def test_batched_scoring_equals_one_prompt_at_a_time(tiny_model, tokenizer_dir, family):
    """Left-padded batches with each row's own positions give each prompt the logits it gets alone: for rotary
    positions (qwen3) and for learned absolute ones (a two-layer GPT-2, where padding would shift them)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel

    if family == "qwen3":
        model = AutoModelForCausalLM.from_pretrained(tiny_model("qwen3"), dtype=torch.float32).eval()
        tokenizer = AutoTokenizer.from_pretrained(tiny_model("qwen3"))
    else:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir("gpt2"))
        torch.manual_seed(0)
        model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=len(tokenizer),
                                           n_positions=64)).eval()
    choice_ids = choice_token_ids(tokenizer)
    assert len(set(choice_ids)) == 4
    g = torch.Generator().manual_seed(0)
    prompts = [torch.randint(10, 5000, (n,), generator=g).tolist() for n in (5, 17, 9, 30)]
    batched = choice_probabilities(model, prompts, choice_ids, tokenizer.pad_token_id or 0)
    for prompt, row in zip(prompts, batched, strict=True):
        with torch.no_grad():
            alone = model(input_ids=torch.tensor([prompt])).logits[0, -1, choice_ids]
        torch.testing.assert_close(row, torch.softmax(alone, -1), rtol=1e-5, atol=1e-6)
        assert abs(row.sum().item() - 1) < 1e-5


def _eval_keys(model, save_dir, **extra):
    return {"model_name_or_path": str(model), "template": "qwen3", "task": "demo_test", "task_dir": str(EVALUATION),
            "save_dir": str(save_dir), **extra}


def test_lmforge_eval_as_a_user_runs_it(tiny_model, tmp_path):
    """The command writes every prediction and the scores; a batch of 3 predicts what a batch of 1 does; the
    scores printed are those of the predictions against the answers."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    outs = {}
    for batch in (1, 3):
        args = [f"{k}={v}" for k, v in _eval_keys(tiny_model("qwen3"), tmp_path / f"b{batch}", batch_size=batch).items()]
        run = subprocess.run([sys.executable, "-m", "lmforge.cli", "eval", *args], capture_output=True, text=True,
                             timeout=600, env=env, cwd=tmp_path)
        assert run.returncode == 0, run.stderr[-3000:]
        outs[batch] = (json.loads((tmp_path / f"b{batch}" / "results.json").read_text()), run.stdout)
    predictions, stdout = outs[3]
    assert predictions == outs[1][0]
    assert {k: len(v) for k, v in predictions.items()} == {"arithmetic": 8, "geography": 8}
    exam = load_exam("demo_test", str(EVALUATION), few_shot=False)
    expected = scores(exam, {k: [v[str(i)] for i in range(len(v))] for k, v in predictions.items()})
    for name, value in expected.items():
        assert f"{name:>15}: {value:.2f}" in stdout
    log = (tmp_path / "b3" / "results.log").read_text()
    assert "per subject:" in log and "arithmetic" in log

    again = subprocess.run([sys.executable, "-m", "lmforge.cli", "eval", *[
        f"{k}={v}" for k, v in _eval_keys(tiny_model("qwen3"), tmp_path / "b3").items()]],
        capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert again.returncode == 1 and "holds results.json already" in again.stderr


def test_eval_config_errors(tiny_model, tmp_path):
    keys = _eval_keys(tiny_model("qwen3"), tmp_path)
    with pytest.raises(ConfigError, match="needs task"):
        load_config({k: v for k, v in keys.items() if k != "task"}, command="eval")
    with pytest.raises(ConfigError, match="huggingface backend"):
        load_config(keys | {"infer_backend": "vllm"}, command="eval")
    with pytest.raises(ConfigError, match="n_shot: -1 is out of range"):
        load_config(keys | {"n_shot": -1}, command="eval")
    with pytest.raises(ConfigError, match="lang"):
        load_config(keys | {"lang": "fr"}, command="eval")
    cfg = load_config(keys, command="eval")
    assert (cfg.evaluation.n_shot, cfg.evaluation.batch_size, cfg.evaluation.lang) == (5, 4, "en")
    # eval's keys elsewhere are a mistake (batch_size for per_device_train_batch_size), not silently ignored
    train = {"model_name_or_path": str(tiny_model("qwen3")), "dataset": "identity", "output_dir": str(tmp_path)}
    with pytest.raises(ConfigError, match="batch_size: key of `lmforge eval`, not of `lmforge train`; "
                                          "per_device_train_batch_size"):
        load_config(train | {"batch_size": 8}, command="train")
    with pytest.raises(ConfigError, match="n_shot, lang: keys of `lmforge eval`, not of `lmforge chat`"):
        load_config({"model_name_or_path": "m", "n_shot": 3, "lang": "zh"}, command="chat")


def test_eval_help_lists_its_keys():
    run = subprocess.run([sys.executable, "-m", "lmforge.cli", "eval", "--help"], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0
    assert "Evaluation (lmforge eval):" in run.stdout and "  n_shot  [default: 5]" in run.stdout
