"""Tencent Hunyuan-7B-Instruct-0124 (`hunyuan`): `<|startoftext|>{system}<|extra_4|>{user}<|extra_0|>{reply}<|eos|>`,
later user messages `<|startoftext|>{user}<|extra_0|>`; there is no generation prompt (the model answers
right after `<|extra_0|>`).

The official template, mirrored exactly, treats the first message as the "head" whatever its role: a
conversation without a system prompt gets its first user message wrapped as a head *and* as a user message
(`<|startoftext|><|startoftext|>{user}<|extra_4|><|extra_0|>`), and an empty system prompt writes nothing
would make the first user message `<|startoftext|><|startoftext|>{user}<|extra_0|>`, but the template then
calls `dict.update`, which transformers' sandbox forbids: an empty system prompt is rejected here. Set a system
prompt (`default_system`) to get the layout the model card shows.
"""

from lmforge.data.conversation import Conversation
from lmforge.errors import TemplateError
from lmforge.templates.core import Ctx, Template, _Out, register

SOT = "<|startoftext|>"


class Hunyuan(Template):
    rejects_empty_system = True  # the official template fails on it in transformers' sandbox

    def validate(self, conv: Conversation) -> None:
        super().validate(conv)
        system = conv.system if conv.system is not None else self.default_system
        if system == "":
            raise TemplateError(
                f"template '{self.name}': an empty system prompt cannot be rendered (the official template "
                f"calls dict.update there, which transformers' sandbox refuses). Drop it or give one."
            )

    def render_start(self, out: _Out, ctx: Ctx) -> None:
        if ctx.system:
            out.prompt(f"{SOT}{ctx.system}<|extra_4|>")

    def render_user(self, out: _Out, ctx: Ctx, i: int) -> None:
        content = ctx.messages[i].content
        index = i + (ctx.system is not None)  # the official template counts the system message
        if index == 0:
            out.prompt(f"{SOT}{SOT}{content}<|extra_4|><|extra_0|>")
        elif index == 1:
            out.prompt(f"{content}<|extra_0|>")
        else:
            out.prompt(f"{SOT}{content}<|extra_0|>")


register(
    Hunyuan(
        "hunyuan",
        end_of_turn="<|eos|>",
        stop_words=["<|eos|>"],
        special_tokens=(SOT, "<|extra_0|>", "<|extra_4|>", "<|eos|>"),
        official="hunyuan-7b-0124.jinja",
    )
)
