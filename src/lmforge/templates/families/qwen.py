"""Qwen2 / Qwen2.5 (`qwen`), Qwen3 hybrid (`qwen3`) and Qwen3 Instruct-2507 (`qwen3_nothink`): ChatML with
Hermes tool calls.

Qwen3's official template, mirrored here:
- reasoning comes from Message.reasoning, else from inline `<think>...</think>` in the content;
- assistant turns after the last user query render `<think>\\n{reasoning}\\n</think>\\n\\n{answer}` (the last
  message always, with an empty block when it has no reasoning); earlier turns render the answer only, so
  in training their reasoning is dropped (the official rendering) and their answers are still trained;
- enable_thinking=False only changes the generation prompt (it gains an empty think block). When the final
  reply's block is that same empty block, it is prompt, not trained: training == inference with thinking off.

`qwen3_nothink` is the template of the Qwen3 Instruct-2507 models (Qwen3-4B/30B-A3B/235B-A22B-Instruct-2507),
the models LLaMA-Factory's examples pair it with: Qwen2.5's format without a default system prompt and with
no think blocks at all (LLaMA-Factory's own `qwen3_nothink` renders the same). It has no reasoning format, so
Message.reasoning is rejected and inline `<think>` text is plain content. To train the hybrid Qwen3 models
(Qwen3-8B, ...) with thinking off, use `qwen3` with `enable_thinking: false`: that renders the hybrid
template's empty `<think>\\n\\n</think>\\n\\n` blocks, which those models expect.
"""

from __future__ import annotations

from lmforge.errors import TemplateError
from lmforge.templates.core import Ctx, Template, Thinking, _Out, call_ids, fill, register, split_think
from lmforge.templates.families.chatml import CHATML
from lmforge.templates.tools import get_tool_format

EMPTY_THINK = "<think>\n\n</think>\n\n"


class Qwen(Template):
    def render_tool(self, out: _Out, ctx: Ctx, i: int) -> None:
        # consecutive tool results share one user turn
        head = "<|im_start|>user" if ctx.prev_role(i) != "tool" else ""
        tail = "<|im_end|>\n" if ctx.next_role(i) != "tool" else ""
        out.prompt(f"{head}\n<tool_response>\n{ctx.messages[i].content}\n</tool_response>{tail}")


def last_query_index(ctx: Ctx) -> int:
    for i in range(len(ctx.messages) - 1, -1, -1):
        m = ctx.messages[i]
        if m.role == "user" and not (
            m.content.startswith("<tool_response>") and m.content.endswith("</tool_response>")
        ):
            return i
    return len(ctx.messages) - 1


class Qwen3(Qwen):
    def render_assistant(self, out: _Out, ctx: Ctx, i: int) -> None:
        m = ctx.messages[i]
        if m.reasoning is not None:
            reasoning, content = m.reasoning, m.content
        else:
            found, content = split_think(m.content, self.thinking)
            reasoning = found or ""
        out.prompt(self.assistant)
        last = i == len(ctx.messages) - 1
        body = content
        if i > last_query_index(ctx) and (last or reasoning):
            think = "<think>\n" + reasoning.strip("\n") + "\n</think>\n\n"
            if last and think == EMPTY_THINK and not ctx.thinking:
                out.prompt(think)  # the generation prompt with thinking off ends with this block
            else:
                out.reply(think)
            body = content.lstrip("\n")
        if m.tool_calls:
            body += ("\n" if content else "") + self.tool_format.calls_text(
                m.tool_calls, call_ids(ctx.messages)[i]
            )
        out.reply(body + self.end_of_turn)
        out.prompt(self.separator)

    def render_generation_prompt(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.assistant + ("" if ctx.thinking else EMPTY_THINK))


HERMES = get_tool_format("qwen")
register(
    Qwen(
        "qwen",
        default_system="You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
        tool_format=HERMES,
        official="qwen2.5.jinja",
        **CHATML,
    )
)
_QWEN3 = dict(CHATML, special_tokens=CHATML["special_tokens"] + ("<think>", "</think>"))
register(Qwen3("qwen3", thinking=Thinking(), tool_format=HERMES, official="qwen3.jinja", **_QWEN3))
# Xiaomi MiMo-7B (SFT / RL): Qwen2.5's template with "You are a helpful assistant." as the default system prompt;
# reasoning is plain content (the template has no think handling).
register(
    Qwen(
        "mimo",
        default_system="You are a helpful assistant.",
        tool_format=HERMES,
        official="mimo.jinja",
        **CHATML,
    )
)
register(Qwen("qwen3_nothink", tool_format=HERMES, official="qwen3-instruct-2507.jinja", **CHATML))


# ------------------------------------------------------------------ Qwen3.5 / Qwen3.6


class Qwen35(Qwen):
    """Qwen3.5 (`qwen3_5`) and Qwen3.6 (`qwen3_6`), hybrid thinking, official template mirrored:
    - every message is stripped; the tool list (Qwen3-Coder's XML call layout) opens the system block, the
      system prompt follows it after a blank line;
    - replies after the last user query render `<think>\\n{reasoning}\\n</think>\\n\\n{answer}` (an empty block
      when there is no reasoning), earlier replies the answer only (their reasoning is not trained);
    - the generation prompt is `<think>\\n` with thinking on (the default of the 4B and larger models, and of
      Qwen3.6), the empty block `<think>\\n\\n</think>\\n\\n` with thinking off. That part is prompt in every
      reply after the last query, so the model is trained on what it generates after the prompt.
    Qwen3.5-0.8B/2B leave thinking off when enable_thinking is unset; set it explicitly for them.
    """

    def render_start(self, out: _Out, ctx: Ctx) -> None:
        system = None if ctx.system is None else ctx.system.strip()
        if ctx.tools:
            text = self.tool_format.tools_text(ctx.tools) + (f"\n\n{system}" if system else "")
            out.prompt(fill(self.system, text))
        elif system is not None:
            out.prompt(fill(self.system, system))

    def render_assistant(self, out: _Out, ctx: Ctx, i: int) -> None:
        m = ctx.messages[i]
        content, reasoning = m.content.strip(), m.reasoning
        if reasoning is None:
            found, content = split_think(content, Thinking())
            reasoning = found or ""
        reasoning = reasoning.strip()
        out.prompt(self.assistant)
        if i > last_query_index(ctx):
            if ctx.thinking:
                out.prompt("<think>\n")
                out.reply(reasoning + "\n</think>\n\n")
            elif reasoning:
                out.reply(f"<think>\n{reasoning}\n</think>\n\n")
            else:
                out.prompt(EMPTY_THINK)  # the generation prompt with thinking off ends with this block
        body = content
        if m.tool_calls:
            body += ("\n\n" if content else "") + self.tool_format.calls_text(m.tool_calls, [])
        out.reply(body + self.end_of_turn)
        out.prompt(self.separator)

    def render_tool(self, out: _Out, ctx: Ctx, i: int) -> None:
        head = "<|im_start|>user" if ctx.prev_role(i) != "tool" else ""
        tail = "<|im_end|>\n" if ctx.next_role(i) != "tool" else ""
        out.prompt(f"{head}\n<tool_response>\n{ctx.messages[i].content.strip()}\n</tool_response>{tail}")

    def render_user(self, out: _Out, ctx: Ctx, i: int) -> None:
        out.prompt(fill(self.user, ctx.messages[i].content.strip()))

    def render_generation_prompt(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.assistant + ("<think>\n" if ctx.thinking else EMPTY_THINK))


class Qwen35NoThink(Qwen35):
    """`qwen3_5_nothink`: the Qwen3.5 template with thinking always off (enable_thinking=false): the empty
    think block in the prompt of every reply after the last query, no reasoning in the data."""

    # the official template reads `<think>...</think>` in a reply as reasoning, which this template has none of
    rejects_inline_reasoning = True

    def validate(self, conv) -> None:
        super().validate(conv)
        for i, m in enumerate(conv.messages):
            if m.role == "assistant" and "</think>" in m.content:
                raise TemplateError(
                    f"template '{self.name}' has thinking off, but message {i} holds reasoning in "
                    f"<think>...</think> (the official template would render it as reasoning). Use `qwen3_5` "
                    f"for reasoning data, or remove the think block."
                )

    def render(self, conv, *, add_generation_prompt=False, enable_thinking=False):
        return super().render(conv, add_generation_prompt=add_generation_prompt, enable_thinking=False)

    def chat_template(self) -> str:
        return "{%- set enable_thinking = false %}\n" + super().chat_template()


_QWEN35 = dict(_QWEN3, special_tokens=_QWEN3["special_tokens"] + ("<tool_call>", "</tool_call>"))
register(
    Qwen35(
        "qwen3_5",
        thinking=Thinking(),
        tool_format=get_tool_format("qwen3_5"),
        official="qwen3.5.jinja",
        **_QWEN35,
    )
)
register(
    Qwen35NoThink(
        "qwen3_5_nothink", tool_format=get_tool_format("qwen3_5"), official="qwen3.5.jinja", **_QWEN35
    )
)
register(
    Qwen35(
        "qwen3_6",
        thinking=Thinking(),
        tool_format=get_tool_format("qwen3_6"),
        official="qwen3.6.jinja",
        **_QWEN35,
    )
)
