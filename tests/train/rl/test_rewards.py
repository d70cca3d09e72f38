"""Built-in rewards (accuracy, format), loading user reward functions and what a bad one reports."""

import pytest

from lmforge.errors import ConfigError
from lmforge.train.rl.rewards import (
    accuracy,
    answers_match,
    call_reward,
    format_reward,
    last_boxed,
    load_reward_func,
    parse_number,
)


def test_last_boxed_handles_nesting_and_takes_the_last():
    assert last_boxed(r"first \boxed{1} then \boxed{\frac{3}{4}} done") == r"\frac{3}{4}"
    assert last_boxed("no box") is None
    assert last_boxed(r"\boxed{unclosed") is None


@pytest.mark.parametrize("text, value", [("1,234", 1234), ("-3.50", -3.5), ("$7", 7), ("3/4", 0.75),
                                         (r"\frac{3}{4}", 0.75), ("50%", 0.5), ("12.", 12), ("x", None)])
def test_parse_number(text, value):
    got = parse_number(text)
    assert (got is None) if value is None else float(got) == value


@pytest.mark.parametrize("completion, solution, ok", [
    (r"<think>7*8</think> The answer is \boxed{56}.", "56", True),
    (r"so \boxed{56.0}", r"The product is \boxed{56}", True),  # solution's boxed answer, numbers compared
    ("The answer is 1,000", "1000", True),  # no box: the last number
    ("I think 12, no wait, 13", "12", False),
    (r"\boxed{0.5}", r"\frac{1}{2}", True),
    (r"\boxed{Paris}", "paris", True),  # text answers: normalised text
    ("<think>maybe 4</think>5", "4", False),  # only the answer after </think> counts
    ("no number here", "3", False),
])
def test_answers_match(completion, solution, ok):
    assert answers_match(completion, solution) is ok


def test_accuracy_reads_solution_or_answer_and_refuses_neither():
    assert accuracy(["q", "q"], ["4", "5"], solution=["4", "4"]) == [1.0, 0.0]
    assert accuracy(["q"], [r"\boxed{9}"], answer=["9"]) == [1.0]
    assert accuracy(["q"], ["9"], solution=[""]) == [None]
    with pytest.raises(ConfigError, match="needs a `solution` or `answer` column.*question"):
        accuracy(["q"], ["9"], question=["x"])


def test_format_reward():
    assert format_reward([""] * 4, ["<think>a</think> 5", "5", "<think>a</think>", "<think>a</think>x<think>b</think>"]) \
        == [1.0, 0.0, 0.0, 0.0]


def test_user_reward_from_a_file_and_a_module(tmp_path, monkeypatch):
    path = tmp_path / "my_rewards.py"
    path.write_text("def short(prompts, completions, **kw):\n    return [1.0 / (1 + len(c)) for c in completions]\n"
                    "NOT_A_FUNCTION = 3\n")
    func = load_reward_func(f"{path}:short")
    assert func(prompts=["p"], completions=["abc"]) == [0.25]
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_reward_func("my_rewards:short")(prompts=[], completions=["a"]) == [0.5]
    assert load_reward_func("accuracy") is accuracy


@pytest.mark.parametrize("spec, message", [
    ("nonsense", "not a built-in reward"),
    ("missing_file.py:f", "does not exist"),
    ("no_such_module_xyz:f", "cannot import module 'no_such_module_xyz'"),
    ("{file}:nope", "has no function 'nope'; it has: short"),
    ("{file}:NOT_A_FUNCTION", "is a int, not a function"),
    ("{broken}:f", "importing .* failed: ZeroDivisionError"),
])
def test_bad_reward_specs_say_what_is_wrong(tmp_path, spec, message):
    good = tmp_path / "good.py"
    good.write_text("def short(prompts, completions, **kw):\n    return []\nNOT_A_FUNCTION = 3\n")
    broken = tmp_path / "broken.py"
    broken.write_text("1 / 0\n")
    with pytest.raises(ConfigError, match=message) as err:
        load_reward_func(spec.format(file=good, broken=broken))
    assert "\n" not in str(err.value)


def test_call_reward_checks_lengths_and_types():
    assert call_reward("f", lambda prompts, completions, **kw: [1, None], ["a", "b"], ["x", "y"], {}) == \
        pytest.approx([1.0, float("nan")], nan_ok=True)
    with pytest.raises(ValueError, match="returned 1 values for 2"):
        call_reward("f", lambda prompts, completions, **kw: [1.0], ["a", "b"], ["x", "y"], {})
    with pytest.raises(ValueError, match="expected a number"):
        call_reward("f", lambda prompts, completions, **kw: ["good"], ["a"], ["x"], {})


def test_reward_funcs_load_in_order_and_names_must_differ(tmp_path):
    from lmforge.train.rl.rewards import load_reward_funcs

    path = tmp_path / "r.py"
    path.write_text("def accuracy(prompts, completions, **kw):\n    return [0.0] * len(completions)\n"
                    "def short(prompts, completions, **kw):\n    return [0.0] * len(completions)\n")
    assert list(load_reward_funcs(["format", f"{path}:short"])) == ["format", "short"]
    with pytest.raises(ConfigError, match="two reward functions are named 'accuracy'"):
        load_reward_funcs(["accuracy", f"{path}:accuracy"])
