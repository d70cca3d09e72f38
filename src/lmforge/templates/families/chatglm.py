"""GLM-4 (`glm4`, the GLM-4-0414 template), GLM-Z1 (`glmz1`), GLM-4.5 / 4.6 (`glm4_moe`) and ChatGLM3
(`chatglm3`).

A GLM model ends its reply by writing the next role token (`<|user|>`, or `<|observation|>` after a tool
call); there is no end-of-turn token. So the role token that follows an assistant reply is trainable and
belongs to that reply's turn. The official templates end a conversation right after the last reply; a
model trained on that never learns to stop, so the final reply is rendered as generated
(final_reply_as_generated): the official prompt, the reply, then `<|user|>` (or `<|observation|>`), which
is also what GLM-4's own fine-tuning code appends.

GLM-4 tools: the tool list is a system turn ("# 可用工具"); a call is an assistant turn `<|assistant|>{name}\\n
{json arguments}` and a result is an `<|observation|>` turn. The official template reads calls and results
from the `metadata` field and the `observation` role; `official_messages` maps our conversation to them.

GLM-Z1: GLM-4's template that strips every message and drops `...</think>` from every reply (the last one
too), with a generation prompt that opens a think block (`<|assistant|>\\n<think>`). As for DeepSeek-R1, the
final reply is rendered as generated: `\\n{reasoning}\\n</think>\\n\\n{answer}<|user|>` after the prompt
(`</think>\\n\\n{answer}` without reasoning); earlier replies follow the official template, answer only.
This completion shape is Qwen3's and DeepSeek-R1's (`<think>\\n...\\n</think>\\n\\n`); the template does not
say how Z1 spaces its reasoning. Nor does it say how Z1 writes a tool call after its reasoning: no tool
format.

GLM-4.5: every reply opens with a think block, `<think>{reasoning}</think>` for replies after the last user
message, `<think></think>` otherwise (the reasoning of earlier turns is dropped, as for Qwen3); calls are
XML-like (tool format `glm4_moe`); consecutive tool results share one `<|observation|>` turn. With
enable_thinking=False the user messages end with `/nothink` and the generation prompt gains
`<think></think>`, which is then prompt, not trained (unless the final reply carries reasoning: then the
official text, whose prompt has no empty block).
"""

from __future__ import annotations

from lmforge.data.conversation import Conversation, Message
from lmforge.templates.core import (
    OFFICIAL_DIR,
    Ctx,
    Template,
    Thinking,
    _Out,
    call_ids,
    fill,
    register,
    registered_template,
    split_think,
    with_default_system,
)
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
        content = self.text(m.content, "assistant")
        parts = ["\n" + content] if content or not m.tool_calls else []
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


class GLMZ1(GLM4):
    def text(self, content: str, role: str) -> str:
        return content.split(self.thinking.close)[-1].strip()  # every message: visible text only, stripped

    def render_user(self, out: _Out, ctx: Ctx, i: int) -> None:
        self.role_token(out, ctx, i, "<|user|>")
        out.prompt(fill(self.user, self.text(ctx.messages[i].content, "user")))

    def render_tool(self, out: _Out, ctx: Ctx, i: int) -> None:
        self.role_token(out, ctx, i, "<|observation|>")
        out.prompt(fill(self.tool, self.text(ctx.messages[i].content, "tool")))

    def render_generation_prompt(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.assistant + "\n" + self.thinking.open)

    def render_final_reply(self, out: _Out, ctx: Ctx, message: Message) -> None:
        reasoning, answer = message.reasoning, message.content
        if reasoning is None:
            reasoning, answer = split_think(message.content, self.thinking)
        thought = (reasoning or "").strip("\n")
        head = f"\n{thought}\n" if thought else ""
        out.reply(f"{head}{self.thinking.close}\n\n{answer}<|user|>")


class GLM45(GLM):
    render_start = GLM4.render_start  # tools in a system turn of their own, then the system prompt

    def render_user(self, out: _Out, ctx: Ctx, i: int) -> None:
        self.role_token(out, ctx, i, "<|user|>")
        content = ctx.messages[i].content
        nothink = "" if ctx.thinking or content.endswith("/nothink") else "/nothink"
        out.prompt("\n" + content + nothink)

    def render_tool(self, out: _Out, ctx: Ctx, i: int) -> None:
        if ctx.prev_role(i) != "tool":  # consecutive results share one observation turn
            self.role_token(out, ctx, i, "<|observation|>")
        out.prompt(f"\n<tool_response>\n{ctx.messages[i].content}\n</tool_response>")

    def parts(self, message: Message, recent: bool) -> tuple[str, str]:
        """(think block, answer and calls) of an assistant message; `recent`: after the last user message."""
        reasoning, content = message.reasoning, message.content
        if reasoning is None:
            found, content = split_think(content, self.thinking)
            reasoning = found or ""
        think = f"<think>{reasoning.strip()}</think>" if recent and reasoning else "<think></think>"
        body = "\n" + content.strip() if content.strip() else ""
        if message.tool_calls:
            body += "\n" + self.tool_format.calls_text(message.tool_calls, [])
        return "\n" + think, body

    def reply_text(self, ctx: Ctx, i: int) -> str:
        last_user = max((j for j, m in enumerate(ctx.messages) if m.role == "user"), default=-1)
        return "".join(self.parts(ctx.messages[i], i > last_user))

    def empty_think_in_prompt(self, ctx: Ctx) -> bool:
        """Thinking off: the generation prompt holds an empty think block, unless the reply that follows it in
        a training conversation carries reasoning (then the official text, whose prompt has none)."""
        return not ctx.thinking and (
            ctx.final is None or self.parts(ctx.final, True)[0] == "\n<think></think>"
        )

    def render_generation_prompt(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.assistant + ("\n<think></think>" if self.empty_think_in_prompt(ctx) else ""))

    def render_final_reply(self, out: _Out, ctx: Ctx, message: Message) -> None:
        think, body = self.parts(message, True)
        stop = "<|observation|>" if message.tool_calls else "<|user|>"
        out.reply(("" if self.empty_think_in_prompt(ctx) else think) + body + stop)


class GLM47(GLM45):
    """GLM-4.7: GLM-4.5 without the newlines after role tokens; a reply opens with `<think>{reasoning}</think>`
    (after the last user message, when it has reasoning) or just `</think>`; no `/nothink`; the generation
    prompt is `<think>` (thinking on or unset) or `</think>` (off). A reply without reasoning after the
    thinking-on prompt is rendered as generated (`<think></think>{answer}`; the official history text has no
    `<think>`)."""

    def render_start(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.prefix)
        if ctx.tools:
            out.prompt("<|system|>\n" + self.tool_format.tools_text(ctx.tools))
        if ctx.system is not None:
            out.prompt("<|system|>" + ctx.system)

    def render_user(self, out: _Out, ctx: Ctx, i: int) -> None:
        self.role_token(out, ctx, i, "<|user|>")
        out.prompt(ctx.messages[i].content)

    def render_tool(self, out: _Out, ctx: Ctx, i: int) -> None:
        if ctx.prev_role(i) != "tool":
            self.role_token(out, ctx, i, "<|observation|>")
        out.prompt(f"<tool_response>{ctx.messages[i].content}</tool_response>")

    def parts(self, message: Message, recent: bool) -> tuple[str, str]:
        reasoning, content = message.reasoning, message.content
        if reasoning is None:
            found, content = split_think(content, self.thinking)
            reasoning = found or ""
        think = f"<think>{reasoning.strip()}</think>" if recent and reasoning else "</think>"
        body = content.strip()
        if message.tool_calls:
            body += self.tool_format.calls_text(message.tool_calls, [])
        return think, body

    def render_generation_prompt(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.assistant + ("<think>" if ctx.thinking else "</think>"))

    def render_final_reply(self, out: _Out, ctx: Ctx, message: Message) -> None:
        think, body = self.parts(message, True)
        stop = "<|observation|>" if message.tool_calls else "<|user|>"
        if ctx.thinking:
            completion = think.removeprefix("<think>") if think != "</think>" else think
        else:
            completion = (
                "" if think == "</think>" else think
            )  # reasoning with thinking off: the official text
        out.reply(completion + body + stop)


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
register(
    GLMZ1(
        "glmz1",
        prefix="[gMASK]<sop>",
        system="<|system|>\n{content}",
        user="\n{content}",
        tool="\n{content}",
        special_tokens=("[gMASK]", "<sop>", "<|system|>", "<|user|>", "<|assistant|>", "<|observation|>"),
        thinking=Thinking(),
        official="glm-z1.jinja",
        **_GLM,
    )
)
register(
    GLM45(
        "glm4_moe",
        prefix="[gMASK]<sop>",
        system="<|system|>\n{content}",
        special_tokens=(
            "[gMASK]",
            "<sop>",
            "<|system|>",
            "<|user|>",
            "<|assistant|>",
            "<|observation|>",
            "<think>",
            "</think>",
        ),
        thinking=Thinking(),
        tool_format=get_tool_format("glm4_moe"),
        official="glm4.5.jinja",
        **_GLM,
    )
)
register(
    GLM47(
        "glm4_7",
        prefix="[gMASK]<sop>",
        special_tokens=(
            "[gMASK]",
            "<sop>",
            "<|system|>",
            "<|user|>",
            "<|assistant|>",
            "<|observation|>",
            "<think>",
            "</think>",
        ),
        thinking=Thinking(),
        tool_format=get_tool_format("glm4_7"),
        official="glm4.7.jinja",
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


AEVA_SYSTEM = (
    "You are an AI assistant named Aeva created by Zongzhi Lou. "
    "Your answer should be friendly, unbiased, faithful, informative and detailed."
)


class Aeva(GLM47):
    """Aeva (LLaMA-Factory's `aeva`): GLM-4.7's format with a default system prompt. No Aeva chat template was
    found; LLaMA-Factory registers it as a copy of its `glm4_7`, so GLM-4.7's official template is the reference,
    given the default system prompt where a conversation has none (and the checkpoint's template renders it)."""

    def official_messages(self, conv: Conversation) -> list[dict]:
        messages = super().official_messages(conv)
        if conv.system is None and self.default_system is not None:
            messages = [{"role": "system", "content": self.default_system}, *messages]
        return messages

    def chat_template(self) -> str:
        source = (OFFICIAL_DIR / self.official).read_text(encoding="utf-8")
        return with_default_system(source, self.default_system)


register(
    Aeva(
        "aeva",
        prefix="[gMASK]<sop>",
        special_tokens=registered_template("glm4_7").special_tokens,
        thinking=Thinking(),
        tool_format=get_tool_format("glm4_7"),
        official="glm4.7.jinja",
        default_system=AEVA_SYSTEM,
        **_GLM,
    )
)
