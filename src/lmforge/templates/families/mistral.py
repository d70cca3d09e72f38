"""Mistral-7B-Instruct v0.3 (`mistral`): `<s>[INST] ...[/INST] answer</s>`, [AVAILABLE_TOOLS]/[TOOL_CALLS];
Ministral-8B-Instruct-2410 (`ministral`, also Mistral-Nemo-Instruct-2407): the same template for the "v3
tekken" tokenizer, without the spaces after `[INST]`, `[TOOL_CALLS]`, `[AVAILABLE_TOOLS]`, `[TOOL_RESULTS]`
and before the answer, and without stripping the answer.

The official template, mirrored here: roles must alternate user/assistant (tool calls and results aside);
the system prompt is prepended to the user message *if it is the last message*; the tool list goes right
before the last user message; assistant text is stripped; calls and results carry 9-character ids.

Deviations (final_reply_as_generated): the official template drops the system prompt from any
conversation that ends with the assistant's reply, so training text would differ from the prompt the model
sees at inference. We render a training conversation as the official prompt (system prompt in its last
user message, as mistral-common does) plus the reply. Our conversations carry no call ids, so calls get
deterministic ids (a hash of position, name and arguments); `official_messages` passes the same ids.
"""

from __future__ import annotations

from lmforge.data.conversation import Conversation
from lmforge.templates.core import Ctx, Template, _Out, call_ids, fill, register, result_ids
from lmforge.templates.tools import MistralTekken, get_tool_format


class Mistral(Template):
    def render_start(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.prefix)  # no system block: the system prompt goes into the last user message

    def render_user(self, out: _Out, ctx: Ctx, i: int) -> None:
        content = ctx.messages[i].content
        # the official template puts the tools before every user message equal (by value) to the last one
        if ctx.tools is not None and content == [m.content for m in ctx.messages if m.role == "user"][-1]:
            out.prompt(self.tool_format.tools_text(ctx.tools))
        if i == len(ctx.messages) - 1 and ctx.system is not None:
            content = ctx.system + "\n\n" + content
        out.prompt(fill(self.user, content))

    def render_tool(self, out: _Out, ctx: Ctx, i: int) -> None:
        out.prompt(fill(self.tool.replace("{call_id}", result_ids(ctx.messages)[i]), ctx.messages[i].content))

    def official_messages(self, conv: Conversation) -> list[dict]:
        messages = conv.to_openai()
        offset = len(messages) - len(conv.messages)
        calls, results = call_ids(conv.messages), result_ids(conv.messages)
        for i, message in enumerate(messages[offset:]):
            for call, call_id in zip(message.get("tool_calls", []), calls[i], strict=True):
                call["id"] = call_id
            if i in results:
                message["tool_call_id"] = results[i]
        return messages


_MISTRAL = dict(
    prefix="{bos}",
    end_of_turn="{eos}",
    stop_words=["{eos}"],
    alternate=True,
    final_reply_as_generated=True,
)
register(
    Mistral(
        "mistral",
        user="[INST] {content}[/INST]",
        reply=" {content}",
        tool='[TOOL_RESULTS] {"content": {content}, "call_id": "{call_id}"}[/TOOL_RESULTS]',
        trim=("assistant",),
        tool_format=get_tool_format("mistral"),
        official="mistral-v0.3.jinja",
        **_MISTRAL,
    )
)
register(
    Mistral(
        "ministral",
        user="[INST]{content}[/INST]",
        tool='[TOOL_RESULTS]{"content": {content}, "call_id": "{call_id}"}[/TOOL_RESULTS]',
        tool_format=MistralTekken(),
        official="ministral-8b.jinja",
        **_MISTRAL,
    )
)
