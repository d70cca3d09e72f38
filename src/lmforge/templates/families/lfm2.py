"""Liquid AI LFM2 (`lfm2`: LFM2-350M/700M/1.2B/2.6B): ChatML after the bos token; the system block only for a
non-empty system prompt.

The official template lists tools in the system block and wraps tool results in
`<|tool_response_start|>...<|tool_response_end|>`, but renders an assistant message's content only (LFM2
writes its calls as Python-like text inside the content), so structured tool calls cannot be rendered:
`lfm2` has no tool format.
"""

from lmforge.templates.core import Ctx, Template, _Out, fill, register
from lmforge.templates.families.chatml import CHATML


class LFM2(Template):
    def render_start(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.prefix)
        if ctx.system:
            out.prompt(fill(self.system, ctx.system))


register(LFM2("lfm2", prefix="{bos}", official="lfm2.jinja", **CHATML))
