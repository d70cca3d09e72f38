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

from lmforge.templates.core import Ctx, Template, Thinking, _Out, call_ids, register, split_think
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
register(Qwen("qwen3_nothink", tool_format=HERMES, official="qwen3-instruct-2507.jinja", **CHATML))
