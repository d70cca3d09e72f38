"""Gemma (`gemma`), Gemma 2 (`gemma2`) and Gemma 3 (`gemma3`): `<start_of_turn>user|model ... <end_of_turn>`.

All three have no system role: Gemma 3's official template prepends the system prompt to the first user
message ("{system}\\n\\n{user}"); Gemma 1/2's raise instead (system_role=False). We fold it the Gemma 3 way
for all three, so `chat_template()` of every Gemma template is Gemma 3's, which renders identically to
Gemma 1/2's whenever those accept the conversation. Roles must alternate; messages are stripped.
"""

from lmforge.data.conversation import Conversation
from lmforge.errors import TemplateError
from lmforge.templates.core import Ctx, Template, Thinking, _Out, fill, register


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


def strip_thought(text: str) -> str:
    """A model message's text without `<|channel>...<channel|>` thought blocks, stripped (Gemma 4's template)."""
    kept = [
        part.split("<|channel>")[0] if "<|channel>" in part else part for part in text.split("<channel|>")
    ]
    return "".join(kept).strip()


class Gemma4(Template):
    """Gemma 4 (gemma-4-E2B/E4B/12B/26B-A4B/31B-it), text and reasoning; `<|turn>{role}\n...<turn|>\n` turns:
    - a system turn when there is a system prompt (stripped) or thinking is on (it then opens with `<|think|>`);
      thinking is *off* unless enable_thinking is true (the official default);
    - a reply after the last user message renders its reasoning as `<|channel>thought\n{reasoning}\n<channel|>`
      before the answer; earlier replies the answer only; thought blocks in a reply's text are dropped, and the
      text stripped;
    - consecutive replies would merge into one model turn (official): lmforge rejects them.
    The official template's tool layout (declarations, calls and responses inside the model turn) is not
    implemented: `gemma4` has no tool format."""

    def render(self, conv, *, add_generation_prompt=False, enable_thinking=True):
        # enable_thinking=None is the official template's default: off
        return super().render(
            conv, add_generation_prompt=add_generation_prompt, enable_thinking=bool(enable_thinking)
        )

    def validate(self, conv: Conversation) -> None:
        super().validate(conv)
        for i, (a, b) in enumerate(zip(conv.messages, conv.messages[1:], strict=False)):
            if a.role == b.role == "assistant":
                raise TemplateError(
                    f"template '{self.name}': messages {i} and {i + 1} are consecutive replies, which the official "
                    f"template merges into one model turn. Merge them in the data."
                )

    def render_start(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.prefix)
        if ctx.thinking or ctx.system is not None:
            think = "<|think|>\n" if ctx.thinking else ""
            out.prompt(f"<|turn>system\n{think}{(ctx.system or '').strip()}<turn|>\n")

    def reply_text(self, ctx: Ctx, i: int) -> str:
        m = ctx.messages[i]
        last_user = max((j for j, x in enumerate(ctx.messages) if x.role == "user"), default=-1)
        thought = f"<|channel>thought\n{m.reasoning}\n<channel|>" if m.reasoning and i > last_user else ""
        return thought + strip_thought(m.content)


register(
    Gemma4(
        "gemma4",
        prefix="{bos}",
        user="<|turn>user\n{content}<turn|>\n",
        assistant="<|turn>model\n",
        end_of_turn="<turn|>",
        separator="\n",
        stop_words=["<turn|>"],
        special_tokens=("<|turn>", "<turn|>", "<|think|>", "<|channel>", "<channel|>"),
        trim=("user",),
        thinking=Thinking(open="<|channel>thought\n", close="<channel|>"),
        official="gemma4.jinja",
    )
)
