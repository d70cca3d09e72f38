"""GLM-4 (`glm4`, the GLM-4-0414 template) and ChatGLM3 (`chatglm3`).

A GLM model ends its reply by writing the next role token (`<|user|>`, or `<|observation|>` after a tool
call); there is no end-of-turn token. So the role token that follows an assistant reply is trainable and
belongs to that reply's turn. The official templates end a conversation right after the last reply; a
model trained on that never learns to stop, so the final reply is rendered as generated
(final_reply_as_generated): the official prompt, the reply, then `<|user|>` (or `<|observation|>`), which
is also what GLM-4's own fine-tuning code appends.

GLM-4 tools: the tool list is a system turn ("# 可用工具"); a call is an assistant turn `<|assistant|>{name}\\n
{json arguments}` and a result is an `<|observation|>` turn. The official template reads calls and results
from the `metadata` field and the `observation` role; `official_messages` maps our conversation to them.
"""

from __future__ import annotations

from lmforge.data.conversation import Conversation, Message
from lmforge.templates.core import Ctx, Template, _Out, call_ids, fill, register
from lmforge.templates.tools import get_tool_format, tojson


class GLM(Template):
    def role_token(self, out: _Out, ctx: Ctx, i: int, token: str) -> None:
        if ctx.prev_role(i) == "assistant":  # the reply before this message ends by writing its role token
            out.reply(token, turn=out.turn - 1 if ctx.messages[i].role == "user" else out.turn)
        else:
            out.prompt(token)

    def render_user(self, out: _Out, ctx: Ctx, i: int) -> None:
        self.role_token(out, ctx, i, "<|user|>")
        out.prompt(fill(self.user, ctx.messages[i].content))

    def render_tool(self, out: _Out, ctx: Ctx, i: int) -> None:
        self.role_token(out, ctx, i, "<|observation|>")
        out.prompt(fill(self.tool, ctx.messages[i].content))

    def render_final_reply(self, out: _Out, ctx: Ctx, message: Message) -> None:
        ctx.messages.append(message)
        stop = "<|observation|>" if message.tool_calls else "<|user|>"
        out.reply(self.reply_text(ctx, len(ctx.messages) - 1) + stop)


class GLM4(GLM):
    def render_start(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.prefix)
        if ctx.tools:
            out.prompt("<|system|>\n" + self.tool_format.tools_text(ctx.tools))
        if ctx.system is not None:
            out.prompt(fill(self.system, ctx.system))

    def reply_text(self, ctx: Ctx, i: int) -> str:
        m = ctx.messages[i]
        parts = ["\n" + m.content] if m.content or not m.tool_calls else []
        if m.tool_calls:
            parts.append(self.tool_format.calls_text(m.tool_calls, call_ids(ctx.messages)[i]))
        return "<|assistant|>".join(parts)  # each call is its own assistant turn

    def official_messages(self, conv: Conversation) -> list[dict]:
        messages = [{"role": "system", "content": conv.system}] if conv.system is not None else []
        for m in conv.messages:
            if m.role == "tool":
                messages.append({"role": "observation", "content": m.content})
            elif m.tool_calls:
                if m.content:
                    messages.append({"role": "assistant", "content": m.content})
                for c in m.tool_calls:
                    messages.append({"role": "assistant", "metadata": c.name, "content": tojson(c.arguments)})
            else:
                messages.append(m.to_openai())
        return messages


_GLM = dict(
    assistant="<|assistant|>",
    stop_words=["<|user|>", "<|observation|>"],
    final_reply_as_generated=True,
)
register(
    GLM4(
        "glm4",
        prefix="[gMASK]<sop>",
        system="<|system|>\n{content}",
        user="\n{content}",
        reply="\n{content}",
        tool="\n{content}",
        special_tokens=("[gMASK]", "<sop>", "<|system|>", "<|user|>", "<|assistant|>", "<|observation|>"),
        tool_format=get_tool_format("glm4"),
        official="glm4.jinja",
        **_GLM,
    )
)
# ChatGLM3's official template writes a space after each role line (SentencePiece's prefix space).
register(
    GLM(
        "chatglm3",
        prefix="[gMASK]sop",
        system="<|system|>\n {content}",
        user="\n {content}",
        reply="\n {content}",
        special_tokens=("[gMASK]", "sop", "<|system|>", "<|user|>", "<|assistant|>", "<|observation|>"),
        official="chatglm3.jinja",
        **_GLM,
    )
)
