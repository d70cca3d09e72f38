"""Tencent Youtu-LLM (`youtu`: Youtu-LLM-2B): `{bos}{system}<|User|>{user}<|Assistant|>{reply}<|end_of_text|>`.

The official template, mirrored here (text; its tool layout is not implemented, so `youtu` has no tool
format): reasoning is inline, `<think>\\n{reasoning}\\n</think>\\n\\n{answer}` (Message.reasoning is written that
way; `official_messages` passes it so); replies before the last one lose their think block; the last reply
gets an empty `<think>\\n\\n</think>\\n\\n` when it has none. With enable_thinking=false the generation prompt ends
with that empty block, which is then prompt in the final reply.
"""

from __future__ import annotations

from lmforge.data.conversation import Conversation, Message
from lmforge.templates.core import Ctx, Template, Thinking, _Out, register

EMPTY = "<think>\n\n</think>\n\n"


def inline(message: Message) -> str:
    """A reply's text with its reasoning written inline, as the official template reads it."""
    if message.reasoning is None:
        return message.content
    return f"<think>\n{message.reasoning}\n</think>\n\n{message.content}"


class Youtu(Template):
    def render_assistant(self, out: _Out, ctx: Ctx, i: int) -> None:
        content = inline(ctx.messages[i])
        last = i == len(ctx.messages) - 1
        if "</think>" in content and not last:
            content = content.rsplit("</think>", 1)[-1].lstrip("\n")
        out.prompt(self.assistant)
        if last and "<think>" not in content and "</think>" not in content:
            content = EMPTY + content
        if last and not ctx.thinking and content.startswith(EMPTY):
            out.prompt(EMPTY)  # the thinking-off generation prompt ends with this block
            content = content.removeprefix(EMPTY)
        out.reply(content + self.end_of_turn)

    def render_generation_prompt(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.assistant + ("" if ctx.thinking else EMPTY))

    def official_messages(self, conv: Conversation) -> list[dict]:
        messages = conv.to_openai()
        offset = len(messages) - len(conv.messages)
        for message, m in zip(messages[offset:], conv.messages, strict=True):
            if m.reasoning is not None:
                message["content"] = inline(m)
                message.pop("reasoning_content", None)
        return messages


register(
    Youtu(
        "youtu",
        prefix="{bos}",
        user="<|User|>{content}",
        assistant="<|Assistant|>",
        end_of_turn="<|end_of_text|>",
        stop_words=["<|end_of_text|>"],
        special_tokens=("<|User|>", "<|Assistant|>", "<|end_of_text|>", "<think>", "</think>"),
        thinking=Thinking(),
        official="youtu-llm.jinja",
    )
)
