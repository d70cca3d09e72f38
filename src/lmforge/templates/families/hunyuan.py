"""Tencent Hunyuan and Hy models.

Hunyuan-7B-Instruct-0124 (`hunyuan`): `<|startoftext|>{system}<|extra_4|>{user}<|extra_0|>{reply}<|eos|>`,
later user messages `<|startoftext|>{user}<|extra_0|>`; there is no generation prompt (the model answers
right after `<|extra_0|>`).

The official template, mirrored exactly, treats the first message as the "head" whatever its role: a
conversation without a system prompt gets its first user message wrapped as a head *and* as a user message
(`<|startoftext|><|startoftext|>{user}<|extra_4|><|extra_0|>`), and an empty system prompt writes nothing
would make the first user message `<|startoftext|><|startoftext|>{user}<|extra_0|>`, but the template then
calls `dict.update`, which transformers' sandbox forbids: an empty system prompt is rejected here. Set a system
prompt (`default_system`) to get the layout the model card shows.

Hy-MT2-7B / Hy-MT1.5-7B / Hunyuan-MT-7B (`hy_dense_7b`): the same tokens as `hunyuan`, with the official
template's head fixed: `<|startoftext|>{system}<|extra_4|>{user}<|extra_0|>{reply}<|eos|>`, every other user
message `<|startoftext|>{user}<|extra_0|>` (also the first one when there is no system prompt, or an empty
one); no generation prompt. LLaMA-Factory's `hy_dense_7b` writes the begin token once and the eos once per
sample (efficient_eos); the official template, mirrored here, writes them per turn, so the model learns to stop
after each reply.

Hy-MT2-1.8B / HY-MT1.5-1.8B (`hy_dense_1_8b`): `<｜hy_begin▁of▁sentence｜>{system}<｜hy_place▁holder▁no▁3｜>` (the
system part only with a system prompt), `<｜hy_User｜>{user}`, `<｜hy_Assistant｜>{reply}<｜hy_place▁holder▁no▁2｜>`;
the generation prompt is `<｜hy_Assistant｜>`, and without one the official template ends the text with
`<｜hy_place▁holder▁no▁8｜>` (a prompt-side suffix here). LLaMA-Factory writes the end token once per sample
(efficient_eos) and no suffix; the official template, mirrored here, ends every reply.

Hunyuan-0.5B/1.8B/4B/7B-Instruct (`hunyuan_small`; the official template of Hunyuan-0.5B-Pretrain, which the
index lists for all of them): `{bos}{system}<｜hy_place▁holder▁no▁3｜>` (with a system prompt),
`<｜hy_User｜>{user}<｜hy_Assistant｜>`, `{reply}{eos}`. The generation prompt is empty (the user turn already
opens the reply); with `enable_thinking: false` it is `<think>\n\n</think>\n`, as officially (the official
template also appends that block after a final reply when there is no generation prompt: not done here, it is no
part of what the model writes). Reasoning is reply text (`<think>...</think>\n<answer>...</answer>`); a reply
with `<answer>` that is not the last message is cut to its answer, as officially. The official tool layout is
not implemented (no tool format). LLaMA-Factory's `hunyuan_small` writes `<｜hy_place▁holder▁no▁8｜>` after
the user message where the official template writes `<｜hy_Assistant｜>`: the official one is followed.

Hy3 (`hy3`; the official template of tencent/Hy3-preview, whose tokens LLaMA-Factory's `hy3` uses) at its
defaults, reasoning effort `no_think`: `<｜hy_begin▁of▁sentence｜>{system}<｜reasoning_mode｜>reasoning_effort:no_think`
(the mode even without a system prompt), `<｜hy_User｜>{user}`, `<｜hy_Assistant｜><think></think>{reply}<｜hy_eos｜>`;
the generation prompt is `<｜hy_Assistant｜><think></think>`. The official template writes no `<｜hy_eos｜>` after
a final reply (outside its `is_training` mode): the final reply is rendered as generated, with it. Reasoning
(efforts `low` / `high`) and the official tool layout are not implemented: reasoning and tools are rejected.
LLaMA-Factory's `hy3` writes neither the reasoning mode nor the empty think block. tencent/Hy3 (final) renames
every token (`<｜hy_User:opensource｜>`...): this is not its format (leave `template` unset for it).
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


class HyDense7B(Template):
    """Hy-MT2-7B's official template: the first message is the head; a user message right after a non-empty
    head gets no `<|startoftext|>`, every other user message does."""

    def render_start(self, out: _Out, ctx: Ctx) -> None:
        if ctx.system:
            out.prompt(f"{SOT}{ctx.system}<|extra_4|>")

    def render_user(self, out: _Out, ctx: Ctx, i: int) -> None:
        content = ctx.messages[i].content
        position = i + (ctx.system is not None)  # the official template counts the system message
        first = ctx.system if ctx.system is not None else ctx.messages[0].content
        if position == 1 and first != "":
            out.prompt(f"{content}<|extra_0|>")
        else:
            out.prompt(f"{SOT}{content}<|extra_0|>")


register(
    HyDense7B(
        "hy_dense_7b",
        end_of_turn="<|eos|>",
        stop_words=["<|eos|>"],
        special_tokens=(SOT, "<|extra_0|>", "<|extra_4|>", "<|eos|>"),
        official="hy-mt2-7b.jinja",
    )
)

HY_BOS = "<｜hy_begin▁of▁sentence｜>"
HY_END = "<｜hy_place▁holder▁no▁2｜>"
register(
    Template(
        "hy_dense_1_8b",
        prefix=HY_BOS,
        system="{content}<｜hy_place▁holder▁no▁3｜>",
        user="<｜hy_User｜>{content}",
        assistant="<｜hy_Assistant｜>",
        end_of_turn=HY_END,
        suffix="<｜hy_place▁holder▁no▁8｜>",
        stop_words=[HY_END],
        special_tokens=(HY_BOS, "<｜hy_place▁holder▁no▁3｜>", "<｜hy_User｜>", "<｜hy_Assistant｜>", HY_END,
                        "<｜hy_place▁holder▁no▁8｜>"),
        official="hy-mt2-1.8b.jinja",
    )
)


class HunyuanSmall(Template):
    """Hunyuan-0.5B ... 7B-Instruct (2025): see the module docstring."""

    def render_start(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.prefix)
        if ctx.system:
            out.prompt(f"{ctx.system}<｜hy_place▁holder▁no▁3｜>")

    def reply_text(self, ctx: Ctx, i: int) -> str:
        content = ctx.messages[i].content
        last = i == len(ctx.messages) - 1 and ctx.final is None
        if "<answer>" in content and not last:  # the official template's cut, strip's character set included
            content = content.split("<answer>")[-1].strip("</answer>").strip()
        return content

    def render_generation_prompt(self, out: _Out, ctx: Ctx) -> None:
        if not ctx.thinking:
            out.prompt("<think>\n\n</think>\n")


register(
    HunyuanSmall(
        "hunyuan_small",
        prefix="{bos}",
        user="<｜hy_User｜>{content}<｜hy_Assistant｜>",
        end_of_turn="{eos}",
        stop_words=["{eos}"],
        special_tokens=("<｜hy_place▁holder▁no▁3｜>", "<｜hy_User｜>", "<｜hy_Assistant｜>"),
        official="hunyuan-small.jinja",
    )
)

HY3_MODE = "<｜reasoning_mode｜>reasoning_effort:no_think"


class Hy3(Template):
    """Hy3-preview at reasoning effort no_think: see the module docstring."""

    def render_start(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(f"{self.prefix}{ctx.system or ''}{HY3_MODE}")


register(
    Hy3(
        "hy3",
        prefix=HY_BOS,
        user="<｜hy_User｜>{content}",
        assistant="<｜hy_Assistant｜><think></think>",
        end_of_turn="<｜hy_eos｜>",
        stop_words=["<｜hy_eos｜>"],
        special_tokens=(HY_BOS, "<｜hy_User｜>", "<｜hy_Assistant｜>", "<｜hy_eos｜>", "<｜reasoning_mode｜>"),
        final_reply_as_generated=True,
        official="hy3-preview.jinja",
    )
)
