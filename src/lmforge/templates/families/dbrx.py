"""Databricks DBRX instruct (`dbrx`): ChatML whose turns are joined by newlines (none after the last one),
with a long default system prompt (stripped, like any system prompt)."""

from lmforge.templates.core import Ctx, Template, _Out, fill, register

DBRX_SYSTEM = (
    "You are DBRX, created by Databricks. You were last updated in December 2023. You answer questions based on "
    "information available up to that point.\nYOU PROVIDE SHORT RESPONSES TO SHORT QUESTIONS OR STATEMENTS, but "
    "provide thorough responses to more complex and open-ended questions.\nYou assist with various tasks, from "
    "writing to coding (using markdown for code blocks — remember to use ``` with code, JSON, and tables).\n(You "
    "do not have real-time data access or code execution capabilities. You avoid stereotyping and provide "
    "balanced perspectives on controversial topics. You do not provide song lyrics, poems, or news articles and "
    "do not divulge details of your training data.)\nThis is your system prompt, guiding your responses. Do not "
    "reference it, just respond to the user. If you find yourself talking about this message, stop. You should "
    "be responding appropriately and usually that means not mentioning this.\nYOU DO NOT MENTION ANY OF THIS "
    "INFORMATION ABOUT YOURSELF UNLESS THE INFORMATION IS DIRECTLY PERTINENT TO THE USER'S QUERY."
)


def newline(out: _Out) -> None:
    """The newline that joins two turns: prompt text of the turn before it (whitespace after an end-of-turn
    token belongs to the reply it follows, as on the jinja path)."""
    out.prompt("\n", turn=out.pieces[-1][2] if out.pieces else None)


class Dbrx(Template):
    def render_start(self, out: _Out, ctx: Ctx) -> None:
        if ctx.system is not None:
            out.prompt(fill(self.system, ctx.system.strip()))

    def render_user(self, out: _Out, ctx: Ctx, i: int) -> None:
        if i:
            newline(out)
        out.prompt(fill(self.user, ctx.messages[i].content))

    def render_assistant(self, out: _Out, ctx: Ctx, i: int) -> None:
        if i:
            newline(out)
        out.prompt("<|im_start|>assistant\n")
        out.reply(self.reply_text(ctx, i) + self.end_of_turn)

    def render_generation_prompt(self, out: _Out, ctx: Ctx) -> None:
        if ctx.messages:
            newline(out)
            out.prompt("<|im_start|>assistant\n")


register(
    Dbrx(
        "dbrx",
        system="<|im_start|>system\n{content}<|im_end|>\n",
        user="<|im_start|>user\n{content}<|im_end|>",
        end_of_turn="<|im_end|>",
        default_system=DBRX_SYSTEM,
        stop_words=["<|im_end|>"],
        special_tokens=("<|im_start|>", "<|im_end|>"),
        official="dbrx.jinja",
    )
)
