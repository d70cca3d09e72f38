"""MiniMax-M1 (`minimax1`) and MiniMax-M2.1 (`minimax2`).

MiniMax-M1 (`minimax1`: MiniMax-M1-40k / -80k): `<begin_of_document>`, then
`<beginning_of_sentence>{role line}\\n{content}<end_of_sentence>\\n` per message (`system ai_setting=assistant`,
`user name=user`, `ai name=assistant`); the system block only for a non-empty system prompt.

The official template reads message content as a list of text parts (`official_messages` passes it so) and
renders neither an assistant's tool calls nor a tool result's text without a tool name, so `minimax1` has no
tool format.

MiniMax-M2.1 (`minimax2`): `]~!b[]~b]system\n{system}[e~[\n`, `]~b]user\n{user}[e~[\n`, `]~b]ai\n{reply}[e~[\n`;
the system block is always written (without a system prompt, or with an empty one, the model identity line);
the tool list follows the system prompt after a blank line; calls in `<minimax:tool_call>` after the text and
a newline; results `]~b]tool` then `\n<response>{result}</response>` each. Replies after the last user message
open with `<think>\n{reasoning}\n</think>\n\n` when they carry reasoning (earlier reasoning is dropped). The
generation prompt opens a think block (`]~b]ai\n<think>\n`), so a final reply without reasoning is rendered
as generated: `\n</think>\n\n{answer}` after the prompt (an empty block; the official history has none).
"""

from lmforge.data.conversation import Conversation, Message
from lmforge.templates.core import Ctx, Template, Thinking, _Out, fill, register
from lmforge.templates.tools import get_tool_format


class MiniMax1(Template):
    def render_start(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.prefix)
        if ctx.system:
            out.prompt(fill(self.system, ctx.system))

    def official_messages(self, conv: Conversation) -> list[dict]:
        return [{**m, "content": [{"type": "text", "text": m["content"]}]} for m in conv.to_openai()]


register(
    MiniMax1(
        "minimax1",
        prefix="<begin_of_document>",
        system="<beginning_of_sentence>system ai_setting=assistant\n{content}<end_of_sentence>\n",
        user="<beginning_of_sentence>user name=user\n{content}<end_of_sentence>\n",
        assistant="<beginning_of_sentence>ai name=assistant\n",
        end_of_turn="<end_of_sentence>",
        separator="\n",
        stop_words=["<end_of_sentence>"],
        special_tokens=("<begin_of_document>", "<beginning_of_sentence>", "<end_of_sentence>"),
        official="minimax-m1.jinja",
    )
)


M2_IDENTITY = "You are a helpful assistant. Your name is MiniMax-M2.1 and is built by MiniMax."


def split_reasoning(message: Message) -> tuple[str, str]:
    """(reasoning, answer) as MiniMax-M2's template splits them (newlines stripped on both sides)."""
    if message.reasoning is not None:
        return message.reasoning, message.content
    if "</think>" not in message.content:
        return "", message.content
    head, tail = message.content.split("</think>")[0], message.content.split("</think>")[-1]
    return head.strip("\n").split("<think>")[-1].strip("\n"), tail.strip("\n")


class MiniMax2(Template):
    def system_text(self, ctx: Ctx) -> str:
        text = ctx.system or M2_IDENTITY
        if ctx.tools:
            text += "\n\n" + self.tool_format.tools_text(ctx.tools)
        return text

    def reply_text(self, ctx: Ctx, i: int) -> str:
        m = ctx.messages[i]
        reasoning, content = split_reasoning(m)
        last_user = max((j for j, x in enumerate(ctx.messages) if x.role == "user"), default=-1)
        think = f"<think>\n{reasoning}\n</think>\n\n" if reasoning and i > last_user else ""
        calls = "\n" + self.tool_format.calls_text(m.tool_calls, []) if m.tool_calls else ""
        return think + content + calls

    def render_tool(self, out: _Out, ctx: Ctx, i: int) -> None:
        head = "]~b]tool" if ctx.prev_role(i) != "tool" else ""
        tail = "[e~[\n" if ctx.next_role(i) != "tool" else ""
        out.prompt(f"{head}\n<response>{ctx.messages[i].content}</response>{tail}")

    def render_generation_prompt(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.assistant + "<think>\n")

    def render_final_reply(self, out: _Out, ctx: Ctx, message: Message) -> None:
        ctx.messages.append(message)
        text = self.reply_text(ctx, len(ctx.messages) - 1)
        completion = (
            text.removeprefix("<think>\n") if text.startswith("<think>\n") else "\n</think>\n\n" + text
        )
        out.reply(completion + self.end_of_turn)
        out.prompt(self.separator)


register(
    MiniMax2(
        "minimax2",
        system="]~!b[]~b]system\n{content}[e~[\n",
        user="]~b]user\n{content}[e~[\n",
        assistant="]~b]ai\n",
        end_of_turn="[e~[",
        separator="\n",
        stop_words=["[e~["],
        special_tokens=("]~!b[", "]~b]", "[e~["),
        thinking=Thinking(),
        tool_format=get_tool_format("minimax2"),
        final_reply_as_generated=True,
        official="minimax-m2.1.jinja",
    )
)
