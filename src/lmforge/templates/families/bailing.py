"""inclusionAI Ling (`bailing`: Ling-lite, Ling-plus) and Ling 2.0 (`bailing_v2`).

Ling (`bailing`): `<role>{ROLE}</role>{content}` with the eos token after each reply; no tools, no reasoning.

Ling 2.0 (`bailing_v2`: Ling-mini-2.0, Ling-flash-2.0, Ling-1T): `<role>{ROLE}</role>{content}<|role_end|>`
turns, Hermes tool calls.

The official template, mirrored here: the system block is always written and ends with the fixed switch
`detailed thinking off` (after the system prompt and the tool list, each followed by a newline); tool results
are `<role>OBSERVATION</role>` turns (consecutive results share one); replies after the last user query that
carry reasoning render `\\n<think>\\n{reasoning}\\n</think>\\n\\n{answer}`, other replies the answer only (earlier
reasoning is dropped); calls follow the answer after a newline. `enable_thinking` does not apply.
"""

from lmforge.templates.core import Ctx, Template, Thinking, _Out, register, split_think
from lmforge.templates.families.qwen import last_query_index
from lmforge.templates.tools import get_tool_format


class Bailing(Template):
    def system_text(self, ctx: Ctx) -> str:
        text = "" if ctx.system is None else ctx.system + "\n"
        if ctx.tools:
            text += self.tool_format.tools_text(ctx.tools) + "\n"
        return text + "detailed thinking off"

    def render_assistant(self, out: _Out, ctx: Ctx, i: int) -> None:
        m = ctx.messages[i]
        content, reasoning = m.content, m.reasoning
        if reasoning is None:
            found, content = split_think(content, self.thinking) if "</think>" in content else (None, content)
            reasoning = found or ""
        body = content
        if i > last_query_index(ctx) and reasoning:
            body = f"\n<think>\n{reasoning.strip(chr(10))}\n</think>\n\n{content.lstrip(chr(10))}"
        if m.tool_calls:
            body += ("\n" if content else "") + self.tool_format.calls_text(m.tool_calls, [])
        out.prompt(self.assistant)
        out.reply(body + self.end_of_turn)

    def render_tool(self, out: _Out, ctx: Ctx, i: int) -> None:
        head = "<role>OBSERVATION</role>" if ctx.prev_role(i) != "tool" else ""
        tail = "<|role_end|>" if ctx.next_role(i) != "tool" else ""
        out.prompt(f"{head}\n<tool_response>\n{ctx.messages[i].content}\n</tool_response>{tail}")


register(
    Bailing(
        "bailing_v2",
        system="<role>SYSTEM</role>{content}<|role_end|>",
        user="<role>HUMAN</role>{content}<|role_end|>",
        assistant="<role>ASSISTANT</role>",
        end_of_turn="<|role_end|>",
        stop_words=["<|role_end|>"],
        special_tokens=("<role>", "</role>", "<|role_end|>"),
        thinking=Thinking(),
        tool_format=get_tool_format("qwen"),
        official="ling-2.0.jinja",
    )
)


register(
    Template(
        "bailing",
        system="<role>SYSTEM</role>{content}",
        user="<role>HUMAN</role>{content}",
        assistant="<role>ASSISTANT</role>",
        end_of_turn="{eos}",
        stop_words=["{eos}"],
        special_tokens=("<role>", "</role>"),
        official="ling-lite.jinja",
    )
)
