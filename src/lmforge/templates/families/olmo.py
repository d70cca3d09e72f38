"""OLMo 2 (`olmo`; OLMo-2-1124/0425 Instruct, OLMoE-1B-7B-0125-Instruct): the Tulu 3 format after bos,
`<|user|>\\n{content}\\n<|assistant|>\\n{answer}<|endoftext|>\\n`.

The official template writes no newline after the eos of the conversation's last message. The role markers
are plain text in OLMo 2's tokenizer; eos ends every reply. No tool format. (OLMo 1's template, which
LLaMA-Factory's `olmo` follows, differs in its newlines; OLMo 1 instruct models are superseded by OLMo 2.)
"""

from lmforge.templates.core import Ctx, Template, _Out, register


class OLMo2(Template):
    def render_assistant(self, out: _Out, ctx: Ctx, i: int) -> None:
        out.prompt(self.assistant)
        out.reply(self.reply_text(ctx, i) + self.end_of_turn)
        if i < len(ctx.messages) - 1:
            out.prompt(self.separator)


register(
    OLMo2(
        "olmo",
        prefix="{bos}",
        system="<|system|>\n{content}\n",
        user="<|user|>\n{content}\n",
        assistant="<|assistant|>\n",
        end_of_turn="{eos}",
        separator="\n",
        stop_words=["{eos}"],
        official="olmo2.jinja",
    )
)
