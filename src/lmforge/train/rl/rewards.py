"""Reward functions: plain callables `f(prompts, completions, **columns) -> list[float | None]`.

`prompts` and `completions` are lists of strings of equal length (one entry per completion; each prompt
repeated num_generations times); `completion_ids` (the completions' token ids, up to and including the stop
token) and every column of the dataset row come as keyword arguments, lists aligned with them (e.g.
`solution`). None means "no opinion" (it adds nothing to the weighted sum).

Built in: accuracy (the answer matches the row's solution / answer, \\boxed{} answers and numbers
normalised) and format (<think>...</think> then a non-empty answer). Users name their own as
`package.module:function` or `path/to/file.py:function` (reward_funcs).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from lmforge.errors import ConfigError

RewardFunc = Callable[..., list]

# -- answers ---------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?")


def last_boxed(text: str) -> str | None:
    """The content of the last \\boxed{...} (or \\fbox{...}) in `text`, nested braces allowed."""
    start = max(text.rfind("\\boxed{"), text.rfind("\\fbox{"))
    if start < 0:
        return None
    i = text.index("{", start) + 1
    depth = 1
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i:j]
    return None


def parse_number(text: str) -> Fraction | None:
    """'1,234', '-3.50', '$7', '3/4', '\\frac{3}{4}', '50%' -> an exact Fraction; None if not one number."""
    s = text.strip().strip("$").strip().rstrip(".").replace("\\!", "").replace(" ", "")
    s = re.sub(r"^\\text\{(.*)\}$", r"\1", s)
    frac = re.fullmatch(r"-?\\[dt]?frac\{(-?\d+)\}\{(-?\d+)\}", s)
    if frac:
        value = Fraction(int(frac.group(1)), int(frac.group(2)))
        return -value if s.startswith("-") else value
    percent = s.endswith("\\%") or s.endswith("%")
    s = s.removesuffix("\\%").removesuffix("%").lstrip("\\$").replace(",", "")
    try:
        value = Fraction(s)
    except (ValueError, ZeroDivisionError):
        return None
    return value / 100 if percent else value


def _normalise_text(text: str) -> str:
    s = re.sub(r"\\text\{([^}]*)\}", r"\1", text)
    return re.sub(r"\s+", " ", s.strip().strip("$").strip().rstrip(".")).lower()


def answer_part(completion: str) -> str:
    """The text after the last </think>, or the whole completion."""
    return completion.rsplit("</think>", 1)[-1]


def reference_answer(solution: str) -> str:
    """A solution's answer: its last \\boxed{} content, or the whole text."""
    boxed = last_boxed(solution)
    return boxed if boxed is not None else solution


def answers_match(completion: str, solution: str) -> bool:
    """Does the completion's answer equal the solution's? Numbers compare exactly as fractions (the
    completion's \\boxed{} answer, else its last number); other answers as normalised text (the \\boxed{}
    answer, else the whole answer part)."""
    ref = reference_answer(str(solution))
    text = answer_part(completion)
    boxed = last_boxed(text)
    ref_number = parse_number(ref)
    if ref_number is not None:
        if boxed is not None:
            return parse_number(boxed) == ref_number
        numbers = _NUMBER.findall(text)
        return bool(numbers) and parse_number(numbers[-1]) == ref_number
    return _normalise_text(boxed if boxed is not None else text) == _normalise_text(ref)


def accuracy(prompts: list[str], completions: list[str], **columns) -> list[float | None]:
    """1.0 when the completion's answer matches the row's `solution` (or `answer`) column, else 0.0; None for
    rows whose solution is empty."""
    solutions = columns.get("solution", columns.get("answer"))
    if solutions is None:
        raise ConfigError("reward_funcs: accuracy needs a `solution` or `answer` column in the dataset; its "
                          f"columns are: {', '.join(sorted(columns)) or 'none besides the prompt'}")
    return [None if sol is None or str(sol).strip() == "" else float(answers_match(c, str(sol)))
            for c, sol in zip(completions, solutions, strict=True)]


_FORMAT = re.compile(r"^\s*<think>.*?</think>\s*\S", re.DOTALL)


def format_reward(prompts: list[str], completions: list[str], **columns) -> list[float]:
    """1.0 when the completion is <think>reasoning</think> followed by a non-empty answer, else 0.0."""
    return [1.0 if _FORMAT.match(c) and c.count("<think>") == 1 and c.count("</think>") == 1 else 0.0
            for c in completions]


BUILTIN_REWARDS: dict[str, RewardFunc] = {"accuracy": accuracy, "format": format_reward}


# -- loading ---------------------------------------------------------------------------------------------


def load_reward_func(spec: str) -> RewardFunc:
    """A built-in name, `package.module:function` or `path/to/file.py:function` -> the callable; a
    one-line ConfigError naming what is wrong otherwise."""
    if spec in BUILTIN_REWARDS:
        return BUILTIN_REWARDS[spec]
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name:
        raise ConfigError(f"reward_funcs: '{spec}' is not a built-in reward ({', '.join(BUILTIN_REWARDS)}) nor "
                          "of the form package.module:function or path/to/file.py:function")
    if where.endswith(".py"):
        path = Path(where).expanduser()
        if not path.is_file():
            raise ConfigError(f"reward_funcs: '{spec}': the file {path} does not exist")
        module_name = f"lmforge_reward_{abs(hash(str(path.resolve())))}"
        try:
            module_spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        except Exception as e:
            raise ConfigError(f"reward_funcs: '{spec}': importing {path} failed: {type(e).__name__}: {e}") from None
    else:
        try:
            module = importlib.import_module(where)
        except Exception as e:
            raise ConfigError(f"reward_funcs: '{spec}': cannot import module '{where}': {type(e).__name__}: "
                              f"{e}") from None
    func = getattr(module, name, None)
    if func is None:
        found = sorted(k for k, v in vars(module).items() if callable(v) and not k.startswith("_"))
        raise ConfigError(f"reward_funcs: '{spec}': '{where}' has no function '{name}'"
                          + (f"; it has: {', '.join(found[:10])}" if found else ""))
    if not callable(func):
        raise ConfigError(f"reward_funcs: '{spec}': '{name}' in '{where}' is a {type(func).__name__}, not a function")
    return func


def load_reward_funcs(specs: list[str]) -> dict[str, RewardFunc]:
    """{name logged under: function} for reward_funcs, in order; names must be distinct."""
    funcs: dict[str, RewardFunc] = {}
    for spec in specs:
        name = reward_name(spec)
        if name in funcs:
            raise ConfigError(f"reward_funcs: two reward functions are named '{name}'; their metrics would mix")
        funcs[name] = load_reward_func(spec)
    return funcs


def reward_name(spec: str) -> str:
    """The name a reward's metrics are logged under: the built-in name or the function's name."""
    return spec if spec in BUILTIN_REWARDS else spec.rpartition(":")[2]


def call_reward(name: str, func: RewardFunc, prompts: list[str], completions: list[str],
                columns: dict[str, list]) -> list[float]:
    """Call one reward function, checking what it returns; None becomes nan."""
    values = func(prompts=prompts, completions=completions, **columns)
    values = list(values) if values is not None else []
    if len(values) != len(completions):
        raise ValueError(f"reward function '{name}' returned {len(values)} values for {len(completions)} "
                         "completions; it must return one number (or None) per completion")
    out = []
    for v in values:
        if v is None:
            out.append(float("nan"))
        elif isinstance(v, int | float) and not isinstance(v, bool) or hasattr(v, "__float__"):
            out.append(float(v))
        else:
            raise ValueError(f"reward function '{name}' returned {v!r}; expected a number or None")
    return out
