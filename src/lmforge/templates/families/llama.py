"""Llama 2 chat (`llama2`), Llama 3 instruct (`llama3`: Meta-Llama-3-8B/70B-Instruct, the 3.0 template),
Llama 3.1 / 3.2 / 3.3 instruct (`llama3_1`: the 3.1 template) and Llama 4 instruct (`llama4`).

Llama 3's official template (3.0) writes each message as a header and its stripped text, the system prompt
only when there is one, no dates and no tool format. LLaMA-Factory's `llama3` is that layout, so `llama3` is
3.0; the 3.1 layout below has its own name, `llama3_1`.

Llama 3.1's official template, mirrored here: a system turn is always present (it carries the knowledge
cutoff and the fixed date "26 Jul 2024"); with tools it starts with "Environment: ipython" and the tool
list goes into the first user message; every message is stripped of surrounding whitespace; one tool call
per assistant message, written as {"name", "parameters"} JSON; tool results go in an `ipython` turn as JSON
(a string result is JSON-quoted, exactly as the official template does).
"""

from __future__ import annotations

from lmforge.data.conversation import Conversation
from lmforge.errors import TemplateError
from lmforge.templates.core import Ctx, Template, _Out, fill, register
from lmforge.templates.tools import get_tool_format, tojson

HEADER = "<|start_header_id|>{role}<|end_header_id|>\n\n"


class Llama3(Template):
    """Llama 3.0: a system block only when there is a system prompt; every message stripped."""

    def render_start(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.prefix)
        if ctx.system is not None:
            out.prompt(HEADER.format(role="system") + ctx.system.strip() + self.end_of_turn)


register(
    Llama3(
        "llama3",
        prefix="{bos}",
        user=HEADER.format(role="user") + "{content}<|eot_id|>",
        assistant=HEADER.format(role="assistant"),
        end_of_turn="<|eot_id|>",
        stop_words=["<|eot_id|>"],
        special_tokens=("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"),
        trim=("user", "assistant"),
        official="llama3.jinja",
    )
)


class Llama31(Template):
    def validate(self, conv: Conversation) -> None:
        super().validate(conv)
        if conv.tools is not None and (not conv.messages or conv.messages[0].role != "user"):
            raise TemplateError(
                f"template '{self.name}' puts the tool list into the first user message, so a conversation "
                f"with tools must start with a user message (the official template raises: 'Cannot put "
                f"tools in the first user message when there's no first user message!')."
            )

    def render_start(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.prefix)
        env = "Environment: ipython\n" if ctx.tools is not None else ""
        dates = "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
        out.prompt(HEADER.format(role="system") + env + dates + (ctx.system or "").strip() + self.end_of_turn)

    def render_user(self, out: _Out, ctx: Ctx, i: int) -> None:
        content = ctx.messages[i].content.strip()
        if i == 0 and ctx.tools is not None:
            content = self.tool_format.tools_text(ctx.tools) + content
        out.prompt(HEADER.format(role="user") + content + self.end_of_turn)

    def render_tool(self, out: _Out, ctx: Ctx, i: int) -> None:
        out.prompt(HEADER.format(role="ipython") + tojson(ctx.messages[i].content) + self.end_of_turn)


register(
    Llama31(
        "llama3_1",
        prefix="{bos}",
        assistant=HEADER.format(role="assistant"),
        end_of_turn="<|eot_id|>",
        stop_words=["<|eot_id|>", "<|eom_id|>"],
        special_tokens=("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"),
        trim=("assistant",),
        tool_format=get_tool_format("llama3"),
        official="llama3.1.jinja",
    )
)


L4_HEADER = "<|header_start|>{role}<|header_end|>\n\n"


class Llama4(Llama31):
    """Llama 4: Llama 3.1's tool placement with other header tokens and `<|eot|>`. A system turn only when the
    conversation has a system prompt (no dates); only the system prompt and the first user message of a
    conversation with tools are stripped; a tool-call message is `<|python_start|>{text}<|python_end|>`
    followed by its calls' JSON objects, so text beside calls and parallel calls are allowed."""

    def render_start(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.prefix)
        if ctx.system is not None:
            env = "Environment: ipython\n" if ctx.tools is not None else ""
            out.prompt(L4_HEADER.format(role="system") + env + ctx.system.strip() + self.end_of_turn)

    def render_user(self, out: _Out, ctx: Ctx, i: int) -> None:
        content = ctx.messages[i].content
        if i == 0 and ctx.tools is not None:
            content = self.tool_format.tools_text(ctx.tools) + content.strip()
        out.prompt(L4_HEADER.format(role="user") + content + self.end_of_turn)

    def reply_text(self, ctx: Ctx, i: int) -> str:
        m = ctx.messages[i]
        if not m.tool_calls:
            return m.content
        calls = self.tool_format.calls_text(m.tool_calls, [])
        return "<|python_start|>" + m.content + "<|python_end|>" + calls

    def render_tool(self, out: _Out, ctx: Ctx, i: int) -> None:
        out.prompt(L4_HEADER.format(role="ipython") + tojson(ctx.messages[i].content) + self.end_of_turn)


register(
    Llama4(
        "llama4",
        prefix="{bos}",
        assistant=L4_HEADER.format(role="assistant"),
        end_of_turn="<|eot|>",
        stop_words=["<|eot|>", "<|eom|>"],
        special_tokens=(
            "<|header_start|>",
            "<|header_end|>",
            "<|eot|>",
            "<|python_start|>",
            "<|python_end|>",
        ),
        tool_format=get_tool_format("llama4"),
        official="llama4.jinja",
    )
)


class Llama2(Template):
    """`<s>[INST] <<SYS>>\\n{system}\\n<</SYS>>\\n\\n{user} [/INST] {answer} </s>`; the system prompt is folded
    into the first user message; strict user/assistant alternation; no generation prompt."""

    def render_start(self, out: _Out, ctx: Ctx) -> None:
        pass  # no prefix or system block: BOS opens every user message, the system goes into the first one

    def render_user(self, out: _Out, ctx: Ctx, i: int) -> None:
        content = ctx.messages[i].content
        if i == 0 and ctx.system is not None:
            content = f"<<SYS>>\n{ctx.system}\n<</SYS>>\n\n{content}"
        out.prompt(fill(self.user, content.strip()))


register(
    Llama2(
        "llama2",
        user="{bos}[INST] {content} [/INST]",
        reply=" {content} ",
        end_of_turn="{eos}",
        stop_words=["{eos}"],
        trim=("assistant",),
        alternate=True,
        official="llama2.jinja",
    )
)
