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
from lmforge.errors import TemplateError
from lmforge.templates import core
from lmforge.templates.core import OFFICIAL_DIR, Ctx, Template, _Out, call_ids, fill, register, result_ids
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


# ------------------------------------------------------------------ Mistral Small 3 / 3.1 and Ministral 3

MISTRAL_SMALL_SYSTEM = (
    "You are Mistral Small 3, a Large Language Model (LLM) created by Mistral AI, a French startup headquartered "
    "in Paris.\nYour knowledge base was last updated on 2023-10-01. The current date is {today}.\n\nWhen you're "
    "not sure about some information, you say that you don't have the information and don't make up anything.\n"
    "If the user's question is not clear, ambiguous, or does not provide enough context for you to accurately "
    "answer the question, you do not try to answer it right away and you rather ask the user to clarify their "
    'request (e.g. "What are some good restaurants around me?" => "Where are you?" or "When is the next flight '
    'to Tokyo" => "Where do you travel from?")'
)


class MistralSmall(Template):
    """Mistral-Small-24B-Instruct-2501 / 3.1-24B-Instruct-2503 (`mistral_small`): `[SYSTEM_PROMPT]...` always
    (without a system prompt, the official default, which writes *today's* date: training text then carries the
    day it was rendered on, as the official template's output does), `[INST]{user}[/INST]{reply}</s>`, no
    generation prompt, messages as they are. The official templates have no tool layout."""

    def system_text(self, ctx: Ctx) -> str:
        if ctx.system is not None:
            return ctx.system
        return MISTRAL_SMALL_SYSTEM.replace("{today}", core.today().isoformat())


register(
    MistralSmall(
        "mistral_small",
        prefix="{bos}",
        system="[SYSTEM_PROMPT]{content}[/SYSTEM_PROMPT]",
        user="[INST]{content}[/INST]",
        end_of_turn="{eos}",
        stop_words=["{eos}"],
        special_tokens=("[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]", "[INST]", "[/INST]"),
        official="mistral-small-3.1.jinja",
    )
)

# Ministral-3-8B-Instruct-2512's default system prompt (the 3B and 14B templates name their own model in its
# first line; `{today}` and `{yesterday}` are literal in the official template)
_MINISTRAL3_SOURCE = (OFFICIAL_DIR / "ministral-3-8b.jinja").read_text(encoding="utf-8")
MINISTRAL3_SYSTEM = (
    _MINISTRAL3_SOURCE.split("default_system_message = '", 1)[1].split("' %}", 1)[0].replace("\\'", "'")
)


class Ministral3(Template):
    """Ministral 3 instruct, 2512 (`ministral3`): `[SYSTEM_PROMPT]` (the official default when there is none),
    the tool list before the first user message, `[INST]{user}[/INST]`, a reply's text then its calls, `</s>`;
    tool results `[TOOL_RESULTS]{content}[/TOOL_RESULTS]`. The official template merges consecutive messages of
    one role with a blank line; lmforge asks for them merged in the data instead (it raises)."""

    def validate(self, conv: Conversation) -> None:
        super().validate(conv)
        for i, (a, b) in enumerate(zip(conv.messages, conv.messages[1:], strict=False)):
            if a.role == b.role and a.role in ("user", "assistant"):
                raise TemplateError(
                    f"template '{self.name}': messages {i} and {i + 1} are both '{a.role}' messages; the official "
                    f"template joins them with a blank line. Merge them in the data."
                )
            if a.role == "assistant" and not a.content and not a.tool_calls:
                raise TemplateError(
                    f"template '{self.name}': assistant message {i} is empty (official: rejected)"
                )

    def render_start(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.prefix)
        out.prompt(fill(self.system, MINISTRAL3_SYSTEM if ctx.system is None else ctx.system))

    def render_user(self, out: _Out, ctx: Ctx, i: int) -> None:
        first = next(k for k, m in enumerate(ctx.messages) if m.role == "user")
        if i == first and ctx.tools:
            out.prompt(self.tool_format.tools_text(ctx.tools))
        out.prompt(fill(self.user, ctx.messages[i].content))

    def reply_text(self, ctx: Ctx, i: int) -> str:
        m = ctx.messages[i]
        return m.content + (self.tool_format.calls_text(m.tool_calls, []) if m.tool_calls else "")


register(
    Ministral3(
        "ministral3",
        prefix="{bos}",
        system="[SYSTEM_PROMPT]{content}[/SYSTEM_PROMPT]",
        user="[INST]{content}[/INST]",
        tool="[TOOL_RESULTS]{content}[/TOOL_RESULTS]",
        end_of_turn="{eos}",
        stop_words=["{eos}"],
        special_tokens=("[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]", "[INST]", "[/INST]", "[TOOL_CALLS]", "[ARGS]"),
        tool_format=get_tool_format("ministral3"),
        official="ministral-3-8b.jinja",
    )
)
