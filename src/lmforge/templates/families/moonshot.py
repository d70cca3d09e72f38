"""Moonshot AI: Kimi K2 instruct (`kimi`) and Moonlight-16B-A3B-Instruct (`moonlight`).

Moonlight-16B-A3B-Instruct (`moonlight`): `<|im_{role}|>{role}<|im_middle|>{content}<|im_end|>`
with no separators, and the default system prompt "You are a helpful assistant" (sic: no period), which
the official template writes when a conversation has none. No tool format."""

from lmforge.data.conversation import Conversation, Message
from lmforge.templates.core import Ctx, Template, _Out, register
from lmforge.templates.tools import get_tool_format

register(
    Template(
        "moonlight",
        system="<|im_system|>system<|im_middle|>{content}<|im_end|>",
        user="<|im_user|>user<|im_middle|>{content}<|im_end|>",
        assistant="<|im_assistant|>assistant<|im_middle|>",
        end_of_turn="<|im_end|>",
        default_system="You are a helpful assistant",
        stop_words=["<|im_end|>"],
        special_tokens=("<|im_system|>", "<|im_user|>", "<|im_assistant|>", "<|im_middle|>", "<|im_end|>"),
        official="moonlight.jinja",
    )
)


KIMI_SYSTEM = "You are Kimi, an AI assistant created by Moonshot AI."


def kimi_ids(messages: list[Message]) -> tuple[dict[int, list[str]], dict[int, str]]:
    """Kimi's call ids, `functions.{name}:{n}` (n counts the conversation's calls), per assistant message, and
    the id each tool result answers (the k-th result after a call message answers its k-th call)."""
    calls: dict[int, list[str]] = {}
    results: dict[int, str] = {}
    n, pending = 0, []
    for i, m in enumerate(messages):
        calls[i] = []
        for call in m.tool_calls:
            calls[i].append(f"functions.{call.name}:{n}")
            n += 1
        if m.tool_calls:
            pending = list(calls[i])
        elif m.role == "tool":
            results[i] = pending.pop(0) if pending else ""
    return calls, results


class Kimi(Template):
    """Kimi-K2-Instruct (and -0905): `<|im_{role}|>{role}<|im_middle|>{content}<|im_end|>` with no separators; the
    tool list first (a `tool_declare` turn), then the system prompt, or the default "You are Kimi, ..." whose
    turn alone is followed by a newline (official); calls after the reply's text; results
    `## Return of {call id}\n{result}` in `tool` turns. Call ids are Kimi's (`functions.{name}:{n}`)."""

    def render_start(self, out: _Out, ctx: Ctx) -> None:
        if ctx.tools:
            out.prompt(
                f"<|im_system|>tool_declare<|im_middle|>{self.tool_format.tools_text(ctx.tools)}<|im_end|>"
            )
        if ctx.system is None:
            out.prompt(f"<|im_system|>system<|im_middle|>{KIMI_SYSTEM}<|im_end|>\n")
        else:
            out.prompt(f"<|im_system|>system<|im_middle|>{ctx.system}<|im_end|>")

    def reply_text(self, ctx: Ctx, i: int) -> str:
        m = ctx.messages[i]
        if not m.tool_calls:
            return m.content
        return m.content + self.tool_format.calls_text(m.tool_calls, kimi_ids(ctx.messages)[0][i])

    def render_tool(self, out: _Out, ctx: Ctx, i: int) -> None:
        call_id = kimi_ids(ctx.messages)[1][i]
        out.prompt(
            f"<|im_system|>tool<|im_middle|>## Return of {call_id}\n{ctx.messages[i].content}<|im_end|>"
        )

    def official_messages(self, conv: Conversation) -> list[dict]:
        messages = conv.to_openai()
        offset = len(messages) - len(conv.messages)
        calls, results = kimi_ids(conv.messages)
        for i, message in enumerate(messages[offset:]):
            for call, call_id in zip(message.get("tool_calls", []), calls[i], strict=True):
                call["id"] = call_id
            if i in results:
                message["tool_call_id"] = results[i]
        return messages


register(
    Kimi(
        "kimi",
        user="<|im_user|>user<|im_middle|>{content}<|im_end|>",
        assistant="<|im_assistant|>assistant<|im_middle|>",
        end_of_turn="<|im_end|>",
        stop_words=["<|im_end|>"],
        special_tokens=(
            "<|im_system|>",
            "<|im_user|>",
            "<|im_assistant|>",
            "<|im_middle|>",
            "<|im_end|>",
            "<|tool_calls_section_begin|>",
            "<|tool_calls_section_end|>",
            "<|tool_call_begin|>",
            "<|tool_call_argument_begin|>",
            "<|tool_call_end|>",
        ),
        tool_format=get_tool_format("kimi_k2"),
        official="kimi-k2.jinja",
    )
)
