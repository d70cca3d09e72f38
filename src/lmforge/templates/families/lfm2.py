"""Liquid AI LFM2 (`lfm2`: LFM2-350M/700M/1.2B/2.6B): ChatML after the bos token; the system block only for a
non-empty system prompt.

The official template lists tools in the system block and wraps tool results in
`<|tool_response_start|>...<|tool_response_end|>`, but renders an assistant message's content only (LFM2
writes its calls as Python-like text inside the content), so structured tool calls cannot be rendered:
`lfm2` has no tool format of its own; with `tool_format: lfm2` (the official layout: the tool list after a
newline in the system block, calls as `<|tool_call_start|>[name(key=value)]<|tool_call_end|>`) it renders tools
and results as the official template does.
"""

from lmforge.templates.core import Ctx, Template, _Out, fill, register
from lmforge.templates.families.chatml import CHATML


class LFM2(Template):
    def render_start(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.prefix)
        text = self.system_text(ctx)
        if text:
            out.prompt(fill(self.system, text))

    def system_text(self, ctx: Ctx) -> str | None:
        if ctx.tools and self.tool_format is not None:
            return "\n".join(t for t in (ctx.system, self.tool_format.tools_text(ctx.tools)) if t)
        return ctx.system


register(
    LFM2(
        "lfm2",
        prefix="{bos}",
        official="lfm2.jinja",
        tool="<|im_start|>tool\n<|tool_response_start|>{content}<|tool_response_end|><|im_end|>\n",
        **CHATML,
    )
)
