"""DeepSeek chat formats: `deepseek` (DeepSeek LLM / V2 chat), `deepseek3` (V3), `deepseekr1` (R1 and its
Qwen/Llama distills). None of their official templates can render OpenAI-style tool calls (they expect
`content: None` and string arguments), so these templates have no tool format.

deepseekr1: the official template strips `...</think>` from every assistant message, the last one included,
and its generation prompt opens a think block (`<｜Assistant｜><think>\\n`). Rendered as is, a training
conversation would teach the model to answer without thinking after a prompt that makes it think. So the
final reply is rendered as generated (final_reply_as_generated): the official prompt, then
`{reasoning}\\n</think>\\n\\n{answer}<｜end▁of▁sentence｜>`. A reply without reasoning closes the block at
once (`</think>\\n\\n{answer}...`): writing `\\n</think>` after the prompt's `<think>\\n` would make the
tokenizer merge the two newlines into one token that straddles prompt and reply. Earlier turns follow the
official template: answer only.
"""

from __future__ import annotations

from lmforge.data.conversation import Message
from lmforge.templates.core import Ctx, Template, Thinking, _Out, register, split_think

EOS = "<｜end▁of▁sentence｜>"

register(
    Template(
        "deepseek",
        prefix="{bos}",
        system="{content}\n\n",
        user="User: {content}\n\n",
        assistant="Assistant:",
        reply=" {content}",
        end_of_turn="{eos}",
        stop_words=["{eos}"],
        official="deepseek.jinja",
    )
)

_V3 = dict(
    prefix="{bos}",
    user="<｜User｜>{content}",
    assistant="<｜Assistant｜>",
    end_of_turn=EOS,
    stop_words=[EOS],
    special_tokens=("<｜User｜>", "<｜Assistant｜>"),
)
register(Template("deepseek3", official="deepseek3.jinja", **_V3))


class DeepSeekR1(Template):
    def reply_text(self, ctx: Ctx, i: int) -> str:
        return ctx.messages[i].content.split(self.thinking.close)[-1]  # history: answer only (official)

    def render_generation_prompt(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.assistant + self.thinking.open + "\n")

    def render_final_reply(self, out: _Out, ctx: Ctx, message: Message) -> None:
        reasoning, answer = message.reasoning, message.content
        if reasoning is None:
            reasoning, answer = split_think(message.content, self.thinking)
        thought = (reasoning or "").strip("\n")
        thought = thought + "\n" if thought else ""
        out.reply(f"{thought}{self.thinking.close}\n\n{answer}{self.end_of_turn}")


register(
    DeepSeekR1(
        "deepseekr1",
        thinking=Thinking(),
        final_reply_as_generated=True,
        official="deepseek-r1.jinja",
        **_V3,
    )
)


# DeepSeek-Coder instruct (1.3b/6.7b/33b, 7b-v1.5): `### Instruction:` / `### Response:` blocks after the
# system prompt (written as is, no separator); a default system prompt; each reply ends `\n<|EOT|>\n`.
DEEPSEEK_CODER_SYSTEM = (
    "You are an AI programming assistant, utilizing the Deepseek Coder model, developed by Deepseek Company, and "
    "you only answer questions related to computer science. For politically sensitive questions, security and "
    "privacy issues, and other non-computer science questions, you will refuse to answer\n"
)
register(
    Template(
        "deepseekcoder",
        prefix="{bos}",
        user="### Instruction:\n{content}\n",
        assistant="### Response:\n",
        end_of_turn="\n<|EOT|>",
        separator="\n",
        default_system=DEEPSEEK_CODER_SYSTEM,
        stop_words=["<|EOT|>"],
        special_tokens=("<|EOT|>",),
        official="deepseek-coder.jinja",
    )
)
