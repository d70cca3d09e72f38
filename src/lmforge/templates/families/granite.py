"""IBM Granite 3 (`granite3`) and Granite 4.0 (`granite4`).

Granite 3 (`granite3`): `<|start_of_role|>{role}<|end_of_role|>{content}<|end_of_text|>\\n`.

This is Granite 3.0's official template. Granite 3.1-3.3 render the same text whenever the conversation has
a system prompt and no tools; without one they write a default system prompt holding today's date (so the
rendering changes from day to day), which is why the 3.0 template is the one registered. Granite 3.0 lists
tools in an `available_tools` turn and writes calls and results in `assistant_tool_call` / `tool_response`
roles that OpenAI-style conversations do not have: no tool format.
"""

from lmforge.templates.core import Ctx, Template, _Out, register
from lmforge.templates.tools import get_tool_format

register(
    Template(
        "granite3",
        system="<|start_of_role|>system<|end_of_role|>{content}<|end_of_text|>\n",
        user="<|start_of_role|>user<|end_of_role|>{content}<|end_of_text|>\n",
        assistant="<|start_of_role|>assistant<|end_of_role|>",
        end_of_turn="<|end_of_text|>",
        separator="\n",
        stop_words=["<|end_of_text|>"],
        special_tokens=("<|start_of_role|>", "<|end_of_role|>", "<|end_of_text|>"),
        official="granite3.0.jinja",
    )
)


GRANITE4_SYSTEM = "You are a helpful assistant. Please ensure responses are professional, accurate, and safe."


class Granite4(Template):
    """Granite 4.0 (granite-4.0-h-small/tiny/micro, granite-4.0-micro): Granite 3's turns; the system block is
    always written (a conversation's system prompt, then the tool list after a blank line; without either, or
    with an empty prompt, the default); Hermes-style calls after the reply's text and a newline; results in a
    user turn as `<tool_response>` blocks (consecutive results share it)."""

    def system_text(self, ctx: Ctx) -> str:
        tools = self.tool_format.tools_text(ctx.tools) if ctx.tools else ""
        text = "\n\n".join(t for t in (ctx.system, tools) if t)
        return text or GRANITE4_SYSTEM

    def render_tool(self, out: _Out, ctx: Ctx, i: int) -> None:
        head = "<|start_of_role|>user<|end_of_role|>" if ctx.prev_role(i) != "tool" else ""
        tail = "<|end_of_text|>\n" if ctx.next_role(i) != "tool" else ""
        out.prompt(f"{head}\n<tool_response>\n{ctx.messages[i].content}\n</tool_response>{tail}")


register(
    Granite4(
        "granite4",
        system="<|start_of_role|>system<|end_of_role|>{content}<|end_of_text|>\n",
        user="<|start_of_role|>user<|end_of_role|>{content}<|end_of_text|>\n",
        assistant="<|start_of_role|>assistant<|end_of_role|>",
        end_of_turn="<|end_of_text|>",
        separator="\n",
        stop_words=["<|end_of_text|>"],
        special_tokens=("<|start_of_role|>", "<|end_of_role|>", "<|end_of_text|>"),
        tool_format=get_tool_format("granite4"),
        official="granite4.0.jinja",
    )
)
