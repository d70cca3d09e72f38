"""ByteDance Seed-OSS (`seed_oss`; Seed-OSS-36B-Instruct): `<seed:bos>{role}\n{content}<seed:eos>` turns,
reasoning in `<seed:think>...</seed:think>`, tool format `seed_oss`.

The official template, mirrored here: reasoning comes from Message.reasoning only (inline think tags are
content) and is kept in every turn, so multi-turn reasoning is trained throughout; an assistant message is
`<seed:bos>assistant` then `\n<seed:think>{reasoning}</seed:think>` (when there is reasoning), then
`\n{answer}` (answer and reasoning stripped); calls follow the answer; eos closes the reply except for a
reply with neither answer nor calls (official). Tool results are `tool` turns. The generation prompt is
`<seed:bos>assistant\n`; the thinking budget (`thinking_budget`, a template variable) is left at its default
(unlimited), which renders nothing.
"""

from __future__ import annotations

from lmforge.templates.core import Ctx, Template, Thinking, _Out, register
from lmforge.templates.tools import get_tool_format

BOS, EOS = "<seed:bos>", "<seed:eos>"
# the system prompt the official template writes when there are tools and no system prompt
DOUBAO = "You are Doubao, a helpful AI assistant. You may call one or more functions to assist with the user query."


class SeedOSS(Template):
    def system_text(self, ctx: Ctx) -> str | None:
        if not ctx.tools:
            return ctx.system
        intro = DOUBAO if ctx.system is None else ctx.system
        return intro + self.tool_format.tools_text(ctx.tools)

    def render_assistant(self, out: _Out, ctx: Ctx, i: int) -> None:
        m = ctx.messages[i]
        reasoning, content = (m.reasoning or "").strip(), m.content.strip()
        body = f"\n<seed:think>{reasoning}</seed:think>" if reasoning else ""
        if m.tool_calls:
            calls = self.tool_format.calls_text(m.tool_calls, [])
            body += (f"\n{content}\n" if content else "") + "\n" + calls + self.end_of_turn
        elif content:
            body += "\n" + content + self.end_of_turn
        if not body:
            out.prompt(BOS + "assistant")  # official: a bare header, no newline, no eos
            return
        out.prompt(self.assistant)
        out.reply(body[1:])  # its leading newline is the end of the generation prompt

    @property
    def strips_history_reasoning(self) -> bool:
        return False


register(
    SeedOSS(
        "seed_oss",
        system=BOS + "system\n{content}" + EOS,
        user=BOS + "user\n{content}" + EOS,
        assistant=BOS + "assistant\n",
        end_of_turn=EOS,
        tool=BOS + "tool\n{content}" + EOS,
        stop_words=[EOS],
        special_tokens=(BOS, EOS, "<seed:think>", "</seed:think>"),
        thinking=Thinking("<seed:think>", "</seed:think>"),
        tool_format=get_tool_format("seed_oss"),
        official="seed-oss.jinja",
    )
)


# Seed-Coder instruct (Seed-Coder-8B-Instruct): `{bos}{role}\n{content}{eos}` per message (stripped), a default
# system prompt, generation prompt `{bos}assistant\n`. No tools, no reasoning (Seed-Coder-8B-Reasoning's
# template differs).
SEED_CODER_SYSTEM = (
    "You are an AI programming assistant, utilizing the Seed-Coder model, developed by ByteDance Seed, and you "
    "only answer questions related to computer science. For politically sensitive questions, security and "
    "privacy issues, and other non-computer science questions, you will refuse to answer.\n\n"
)


class SeedCoder(Template):
    def render_start(self, out: _Out, ctx: Ctx) -> None:
        if ctx.system is not None:  # the official default is written as is, any other system prompt stripped
            system = ctx.system if ctx.system == SEED_CODER_SYSTEM else ctx.system.strip()
            out.prompt(self.system.replace("{content}", system))


register(
    SeedCoder(
        "seed_coder",
        system="{bos}system\n{content}{eos}",
        user="{bos}user\n{content}{eos}",
        assistant="{bos}assistant\n",
        end_of_turn="{eos}",
        default_system=SEED_CODER_SYSTEM,
        stop_words=["{eos}"],
        trim=("user", "assistant"),
        official="seed-coder.jinja",
    )
)
