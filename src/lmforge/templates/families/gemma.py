"""Gemma (`gemma`), Gemma 2 (`gemma2`) and Gemma 3 (`gemma3`): `<start_of_turn>user|model ... <end_of_turn>`.

All three have no system role: Gemma 3's official template prepends the system prompt to the first user
message ("{system}\\n\\n{user}"); Gemma 1/2's raise instead (system_role=False). We fold it the Gemma 3 way
for all three, so `chat_template()` of every Gemma template is Gemma 3's, which renders identically to
Gemma 1/2's whenever those accept the conversation. Roles must alternate; messages are stripped.
"""

from lmforge.templates.core import Ctx, Template, _Out, fill, register


class Gemma(Template):
    def render_start(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.prefix)  # no system block: the system prompt opens the first message

    def render_user(self, out: _Out, ctx: Ctx, i: int) -> None:
        content = ctx.messages[i].content.strip()
        if i == 0 and ctx.system is not None:
            content = ctx.system + "\n\n" + content
        out.prompt(fill(self.user, content))


GEMMA = dict(
    prefix="{bos}",
    user="<start_of_turn>user\n{content}<end_of_turn>\n",
    assistant="<start_of_turn>model\n",
    end_of_turn="<end_of_turn>",
    separator="\n",
    stop_words=["<end_of_turn>"],
    special_tokens=("<start_of_turn>", "<end_of_turn>"),
    trim=("assistant",),
    alternate=True,
    official="gemma3.jinja",
)
register(Gemma("gemma", system_role=False, **GEMMA))
register(Gemma("gemma2", system_role=False, **GEMMA))
register(Gemma("gemma3", **GEMMA))
# Gemma 3n (gemma-3n-E2B/E4B-it): its own chat template was not available here; LLaMA-Factory's `gemma3n` is
# Gemma 3's format (plus audio placeholders lmforge does not render), so it is registered as Gemma 3's and
# proven against Gemma 3's official template (docs/templates.md says so).
register(Gemma("gemma3n", **GEMMA))
