"""Chat templates: a Conversation -> the exact text a model's official chat template renders, cut into
Segments that say which characters the model is trained to produce.

A family is declared with format strings ("{content}" is the message text; "{bos}" / "{eos}" become the
tokenizer's tokens when the template is bound to a tokenizer). Families whose official template has logic
the strings cannot say (Qwen3's thinking, Llama 3.1's tools in the first user message, Mistral's system
prompt in the last user message, ...) subclass Template in their own file and override one hook.

What is trainable: each assistant reply as rendered (its reasoning and tool calls included) plus its
end-of-turn token. Headers, the generation prompt and separators after the end-of-turn token are prompt.

Two invariants hold for every registered template and are tested against the official templates:
  I1  "".join(segment texts) == tokenizer.apply_chat_template(conv.to_openai(), ...)   (the official text)
  I2  for a conversation ending in an assistant reply, the text before that reply's trainable segment
      == render(conversation without the reply, add_generation_prompt=True)   (training == inference)
Where an official template breaks I2 for the final reply (it renders history differently from what the
model generates: DeepSeek-R1 drops the reasoning, Mistral v0.3 drops the system prompt, GLM appends no
stop token), the template sets `final_reply_as_generated` and I2 wins for that one reply: it is rendered as
the generation prompt plus the completion the model must produce. Everything before it still follows I1.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmforge.data.conversation import Conversation, Message, ToolCall
from lmforge.errors import TemplateError, did_you_mean
from lmforge.templates.tools import ToolFormat, get_tool_format

OFFICIAL_DIR = Path(__file__).resolve().parent / "official"
_FORMAT_FIELDS = (
    "prefix",
    "system",
    "user",
    "assistant",
    "reply",
    "end_of_turn",
    "separator",
    "tool",
    "suffix",
)


@dataclass(frozen=True)
class Segment:
    text: str
    trainable: bool  # an assistant reply (with its reasoning / tool calls) and its end-of-turn token
    turn: int  # 0-based user->assistant exchange; the system/tools prefix belongs to turn 0


@dataclass(frozen=True)
class Thinking:
    """How a reasoning model writes its thoughts."""

    open: str = "<think>"
    close: str = "</think>"


class _Out:
    """Collects (text, trainable, turn) pieces while a template renders."""

    def __init__(self) -> None:
        self.pieces: list[tuple[str, bool, int]] = []
        self.turn = 0

    def prompt(self, text: str, turn: int | None = None) -> None:
        self.pieces.append((text, False, self.turn if turn is None else turn))

    def reply(self, text: str, turn: int | None = None) -> None:
        self.pieces.append((text, True, self.turn if turn is None else turn))

    def segments(self) -> list[Segment]:
        merged: list[Segment] = []
        for text, trainable, turn in self.pieces:
            if not text:
                continue
            if merged and merged[-1].trainable == trainable and merged[-1].turn == turn:
                merged[-1] = Segment(merged[-1].text + text, trainable, turn)
            else:
                merged.append(Segment(text, trainable, turn))
        return merged


@dataclass
class Ctx:
    """One render call: the messages being rendered and the switches that apply to them."""

    conv: Conversation
    messages: list[Message]
    system: str | None  # the conversation's system prompt, or the template's default
    add_generation_prompt: bool
    thinking: bool  # enable_thinking is not False
    final: Message | None = None  # the reply rendered as generated after the prompt, if any

    @property
    def tools(self) -> list[dict[str, Any]] | None:
        return self.conv.tools

    def prev_role(self, i: int) -> str | None:
        return self.messages[i - 1].role if i > 0 else None

    def next_role(self, i: int) -> str | None:
        return self.messages[i + 1].role if i + 1 < len(self.messages) else None


def fill(fmt: str, content: str) -> str:
    return fmt.replace("{content}", content)


@dataclass(frozen=True, eq=False)  # identity equality: templates stay hashable though stop_words is a list
class Template:
    """A chat format. The format strings below cover most families; see the module docstring."""

    name: str
    prefix: str = ""  # once, first (e.g. "{bos}")
    system: str = "{content}"  # the system prompt (with the tool list, when there is one)
    user: str = "{content}"
    assistant: str = ""  # opens a reply; also the generation prompt
    reply: str = "{content}"  # the reply's text (a reply with tool calls is its text, then the calls)
    end_of_turn: str = ""  # closes a reply; trainable
    separator: str = ""  # after end_of_turn; prompt
    tool: str = "{content}"  # a tool result
    suffix: str = ""  # last, when there is no generation prompt (Phi-3 appends eos)
    default_system: str | None = None
    stop_words: list[str] = field(default_factory=list)  # generation stops on these; the first ends a turn
    special_tokens: tuple[str, ...] = ()  # must each be one token of the tokenizer
    trim: tuple[str, ...] = ()  # roles whose text the official template strips of surrounding whitespace
    # Capabilities. Conformance tests skip a conversation only through these (each says why).
    thinking: Thinking | None = None  # None: no reasoning format; Message.reasoning is rejected
    tool_format: ToolFormat | None = None  # None: no tool format; tools / tool calls / results rejected
    system_role: bool = True  # False: the official template rejects a system prompt (we still render one)
    alternate: bool = False  # the official template demands user/assistant/user/... (tool turns excepted)
    final_reply_as_generated: bool = False  # see the module docstring
    official: str | None = None  # file under templates/official/ holding the official jinja template
    bos: str = ""  # set by bind()
    eos: str = ""

    # ---------------------------------------------------------------- public API

    def render(
        self, conv: Conversation, *, add_generation_prompt: bool = False, enable_thinking: bool | None = True
    ) -> list[Segment]:
        self.validate(conv)
        messages = list(conv.messages)
        final = None
        if (
            self.final_reply_as_generated
            and not add_generation_prompt
            and messages
            and messages[-1].role == "assistant"
        ):
            final, messages, add_generation_prompt = messages[-1], messages[:-1], True
        system = conv.system if conv.system is not None else self.default_system
        ctx = Ctx(conv, messages, system, add_generation_prompt, enable_thinking is not False, final)
        out = _Out()
        self.render_start(out, ctx)
        for i, message in enumerate(messages):
            if message.role == "user" and ctx.prev_role(i) not in (None, "user"):
                out.turn += 1
            getattr(self, f"render_{message.role}")(out, ctx, i)
        if add_generation_prompt:
            self.render_generation_prompt(out, ctx)
        if final is not None:
            self.render_final_reply(out, ctx, final)
        else:
            self.render_end(out, ctx)
        return out.segments()

    def render_prompt(self, conv: Conversation, *, enable_thinking: bool | None = True) -> str:
        """The text a model continues at inference: the conversation and the generation prompt, as one string
        (what `render(conv, add_generation_prompt=True)` joins to, without the trainable segmentation)."""
        return "".join(
            s.text for s in self.render(conv, add_generation_prompt=True, enable_thinking=enable_thinking)
        )

    def chat_template(self) -> str:
        """The jinja template to save with a checkpoint: the official one, else one generated from the formats.
        A `default_system` given to get_template is written into it: the checkpoint renders what training saw."""
        if not self.official:
            from lmforge.templates.export import to_jinja

            return to_jinja(self)
        source = (OFFICIAL_DIR / self.official).read_text(encoding="utf-8")
        registered = _REGISTRY.get(self.name)
        if registered is not None and registered.default_system == self.default_system:
            return source
        return with_default_system(source, self.default_system)

    def parse_tool_calls(self, text: str) -> tuple[str, list[ToolCall]]:
        if self.tool_format is None:
            return text, []
        return self.tool_format.parse(text)

    def split_reasoning(self, text: str) -> tuple[str | None, str]:
        if self.thinking is None:
            return None, text
        reasoning, answer = split_think(text, self.thinking)
        return (reasoning or None), answer

    def official_messages(self, conv: Conversation) -> list[dict[str, Any]]:
        """The messages the official template must be given to render this conversation (conformance tests
        and docs). Usually conv.to_openai(); families whose template reads other fields override this."""
        return conv.to_openai()

    @property
    def strips_history_reasoning(self) -> bool:
        """True when reasoning of turns before the last user query is not rendered (so not trained)."""
        return self.thinking is not None

    # ---------------------------------------------------------------- binding and validation

    def bind(self, tokenizer: Any, tool_format: str | None = None) -> Template:
        """This template with {bos}/{eos} resolved for `tokenizer`; raises if its special tokens are missing."""
        formats = [getattr(self, f) for f in _FORMAT_FIELDS] + list(self.stop_words)
        needed = list(self.special_tokens)
        if any("{eos}" in f for f in formats) and not tokenizer.eos_token:
            needed.append("eos_token")
        missing = [t for t in needed if t == "eos_token" or not has_token(tokenizer, t)]
        if missing:
            raise TemplateError(
                f"template '{self.name}' needs the special tokens {', '.join(map(repr, missing))}, which the "
                f"tokenizer does not have. Pick the template of this model's family (or leave `template` unset "
                f"to use the tokenizer's own chat template), or add them with `add_special_tokens` and "
                f"`resize_vocab: true`."
            )
        bos, eos = tokenizer.bos_token or "", tokenizer.eos_token or ""

        def resolve(s: str) -> str:
            return s.replace("{bos}", bos).replace("{eos}", eos)

        changes: dict[str, Any] = {f: resolve(getattr(self, f)) for f in _FORMAT_FIELDS}
        changes["stop_words"] = list(dict.fromkeys(resolve(w) for w in self.stop_words if resolve(w)))
        if tool_format is not None:
            changes["tool_format"] = get_tool_format(tool_format)
            if self.tool_format is None and self.tool == "{content}":
                # the family has no tool role: a result renders as a user turn (LLaMA-Factory's observation
                # default), so it carries a role marker and an end of turn instead of running into the text
                changes["tool"] = changes["user"]
        return dataclasses.replace(self, bos=bos, eos=eos, **changes)

    def validate(self, conv: Conversation) -> None:
        """Reject what this format cannot render, before training starts, naming the message."""
        for i, m in enumerate(conv.messages):
            if m.role not in ("user", "assistant", "tool"):
                raise TemplateError(f"template '{self.name}': message {i} has unknown role {m.role!r}")
            if m.reasoning is not None and self.thinking is None:
                raise TemplateError(
                    f"template '{self.name}' has no reasoning format, but message {i} carries reasoning. Use "
                    f"the template of a reasoning model (e.g. qwen3, deepseekr1) or drop the reasoning field."
                )
            if (m.tool_calls or m.role == "tool") and self.tool_format is None:
                raise TemplateError(
                    f"template '{self.name}' has no tool-call format, but message {i} is a "
                    f"{'tool call' if m.tool_calls else 'tool result'}. Set `tool_format` "
                    f"(qwen, llama3, mistral, glm4, glm4_moe, ...) or use a template with tool support."
                )
            if m.tool_calls and self.tool_format is not None:
                self.tool_format.check_calls(self.name, i, m)
        if conv.tools and self.tool_format is None:
            raise TemplateError(
                f"template '{self.name}' has no tool format, but the conversation lists tools. Set "
                f"`tool_format` (qwen, llama3, mistral, glm4, glm4_moe, ...) or use a template with tool support."
            )
        if self.alternate:
            check_alternation(self.name, conv.messages)

    # ---------------------------------------------------------------- rendering hooks

    def render_start(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.prefix)
        text = self.system_text(ctx)
        if text is not None:
            out.prompt(fill(self.system, text))

    def system_text(self, ctx: Ctx) -> str | None:
        """The system prompt with the tool list appended (None: no system block)."""
        if ctx.tools and self.tool_format is not None:
            tools = self.tool_format.tools_text(ctx.tools)
            return tools if ctx.system is None else ctx.system + "\n\n" + tools
        return ctx.system

    def render_user(self, out: _Out, ctx: Ctx, i: int) -> None:
        out.prompt(fill(self.user, self.text(ctx.messages[i].content, "user")))

    def render_assistant(self, out: _Out, ctx: Ctx, i: int) -> None:
        out.prompt(self.assistant)
        out.reply(self.reply_text(ctx, i) + self.end_of_turn)
        out.prompt(self.separator)

    def reply_text(self, ctx: Ctx, i: int) -> str:
        """The body of assistant message i: its content, then its tool calls."""
        m = ctx.messages[i]
        content = self.text(m.content, "assistant")
        if not m.tool_calls:
            return fill(self.reply, content)
        ids = self.tool_format.ids(ctx.messages) or call_ids(ctx.messages)
        return self.tool_format.reply(content, self.tool_format.calls_text(m.tool_calls, ids[i]))

    def render_tool(self, out: _Out, ctx: Ctx, i: int) -> None:
        out.prompt(fill(self.tool, ctx.messages[i].content))

    def render_generation_prompt(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.assistant)

    def render_final_reply(self, out: _Out, ctx: Ctx, message: Message) -> None:
        """Only for final_reply_as_generated: the completion after the generation prompt."""
        ctx.messages.append(message)
        out.reply(self.reply_text(ctx, len(ctx.messages) - 1) + self.end_of_turn)
        out.prompt(self.separator)

    def render_end(self, out: _Out, ctx: Ctx) -> None:
        if not ctx.add_generation_prompt:
            out.prompt(self.suffix)

    def text(self, content: str, role: str) -> str:
        return content.strip() if role in self.trim else content


# -------------------------------------------------------------------- helpers shared by families


def with_default_system(source: str, system: str | None) -> str:
    """A chat template that renders `system` as the system prompt of conversations that have none: a top-level
    jinja `set` rebinds `messages` for the rest of the template (None: the template unchanged)."""
    if system is None:
        return source
    literal = json.dumps(system, ensure_ascii=False)  # a valid jinja string literal
    return (
        "{%- if not messages or messages[0]['role'] != 'system' %}"
        f"{{%- set messages = [{{'role': 'system', 'content': {literal}}}] + messages %}}"
        "{%- endif %}\n" + source
    )


def today() -> datetime.date:
    """The date templates that write the current day (Mistral Small 3's default system prompt) render, as the
    official template's `strftime_now` does. One function, so tests can pin it."""
    return datetime.date.today()


def has_token(tokenizer: Any, token: str) -> bool:
    token_id = tokenizer.convert_tokens_to_ids(token)
    return token_id is not None and (token_id != tokenizer.unk_token_id or token == tokenizer.unk_token)


def check_alternation(name: str, messages: list[Message]) -> None:
    """user/assistant/user/... after the optional system prompt; tool calls and tool results are skipped."""
    n = 0
    for i, m in enumerate(messages):
        if m.role == "tool" or m.tool_calls:
            continue
        expected = "user" if n % 2 == 0 else "assistant"
        if m.role != expected:
            raise TemplateError(
                f"template '{name}': message {i} has role '{m.role}' where '{expected}' was expected. This chat "
                f"format requires roles to alternate user/assistant/user/assistant/... after the optional "
                f"system prompt, tool calls and tool results aside (the official template raises "
                f"'Conversation roles must alternate user/assistant/user/assistant/...'). Merge or drop "
                f"message {i} (messages are counted from 0, the system prompt not included)."
            )
        n += 1


def call_ids(messages: list[Message]) -> dict[int, list[str]]:
    """Deterministic 9-character ids for every tool call (message index -> ids), for formats that need ids."""
    import hashlib
    import json

    ids: dict[int, list[str]] = {}
    n = 0
    for i, m in enumerate(messages):
        ids[i] = []
        for call in m.tool_calls:
            key = f"{n}:{call.name}:{json.dumps(call.arguments, sort_keys=True)}"
            ids[i].append(hashlib.sha1(key.encode()).hexdigest()[:9])
            n += 1
    return ids


def result_ids(messages: list[Message]) -> dict[int, str]:
    """The id of the call each tool result answers: the k-th result after a call message answers its k-th call."""
    ids = call_ids(messages)
    out: dict[int, str] = {}
    pending: list[str] = []
    for i, m in enumerate(messages):
        if m.tool_calls:
            pending = list(ids[i])
        elif m.role == "tool":
            out[i] = pending.pop(0) if pending else "000000000"
        else:
            pending = []
    return out


def split_think(content: str, thinking: Thinking) -> tuple[str | None, str]:
    """Inline reasoning -> (reasoning, answer), as Qwen3's template splits it: everything before the last
    close tag (after an open tag, if any) is reasoning, newlines trimmed. (None, content) when there is none."""
    if thinking.close not in content:
        return None, content
    parts = content.split(thinking.close)
    reasoning = parts[0].rstrip("\n").split(thinking.open)[-1].lstrip("\n")
    return reasoning, parts[-1].lstrip("\n")


# -------------------------------------------------------------------- registry

_REGISTRY: dict[str, Template] = {}
_UNAVAILABLE: dict[str, str] = {}  # names users type that have no template here -> why, and what to use


def register(template: Template) -> Template:
    if template.name in _REGISTRY or template.name in _UNAVAILABLE:
        raise ValueError(f"template {template.name!r} is registered twice")
    _REGISTRY[template.name] = template
    return template


def register_unavailable(name: str, reason: str) -> None:
    """A name LLaMA-Factory users type that lmforge deliberately does not provide; get_template explains why."""
    if name in _REGISTRY or name in _UNAVAILABLE:
        raise ValueError(f"template {name!r} is registered twice")
    _UNAVAILABLE[name] = reason


def _load_families() -> None:
    import lmforge.templates.families  # noqa: F401  (each module registers its templates)


def list_templates() -> list[str]:
    _load_families()
    return sorted(_REGISTRY)


def registered_template(name: str) -> Template:
    """The registered template `name` before it is bound to a tokenizer: its format and capability flags."""
    _load_families()
    return _REGISTRY[name]


# The chat template saved with a checkpoint is official jinja (or generated from the formats); it cannot say that
# training used a tool format of another family (phi + `tool_format: qwen`). That choice is appended as a jinja
# comment, which renders nothing and travels wherever the chat template goes (checkpoints, adapters, exports):
# get_template(None, ...) reads it back, so chat / api / webchat with `template` unset render and parse tools
# as training did.
_SAVED = re.compile(r"\{# lmforge: (\{[^#]*\}) #\}$")


def saved_chat_template(template: Template) -> str:
    """template.chat_template(), with the template and tool format training used appended as a jinja comment
    where the chat template alone does not imply them (a tool format other than the template's own)."""
    source = template.chat_template()
    fmt = template.tool_format.name if template.tool_format is not None else None
    if template.name == "jinja":
        from lmforge.templates.jinja import sniff_tool_format

        own, choice = sniff_tool_format(source), {"template": None, "tool_format": fmt}
    else:
        registered = _REGISTRY.get(template.name)
        own = registered.tool_format.name if registered and registered.tool_format else None
        choice = {"template": template.name, "tool_format": fmt, "default_system": template.default_system}
    if fmt is None or fmt == own:
        return source
    return _SAVED.sub("", source) + "{# lmforge: " + json.dumps(choice, ensure_ascii=False) + " #}"


def saved_choice(source: Any) -> dict[str, Any] | None:
    """What saved_chat_template appended to a chat template, if anything."""
    match = _SAVED.search(source) if isinstance(source, str) else None
    if match is None:
        return None
    try:
        choice = json.loads(match.group(1))
    except json.JSONDecodeError:
        return None
    return choice if isinstance(choice, dict) else None


def get_template(
    name: str | None, tokenizer: Any, tool_format: str | None = None, default_system: str | None = None
) -> Template:
    """The template `name` bound to `tokenizer`; None -> the tokenizer's own chat_template (the jinja path).

    `default_system` (the config key) is the system prompt of conversations that have none; it replaces the
    template's own default (and is written into `chat_template()`). A conversation's system prompt, even an
    empty one, always wins."""
    _load_families()
    saved = saved_choice(tokenizer.chat_template) if name is None else None
    if saved is not None and saved.get("template") in _REGISTRY:
        return get_template(
            saved["template"],
            tokenizer,
            tool_format=tool_format or saved.get("tool_format"),
            default_system=default_system if default_system is not None else saved.get("default_system"),
        )
    if name is None:
        from lmforge.templates.jinja import JinjaTemplate

        fmt = tool_format or (saved or {}).get("tool_format")
        template: Template = JinjaTemplate.from_tokenizer(tokenizer, tool_format=fmt)
    else:
        _load_families()
        if name in _UNAVAILABLE:
            raise TemplateError(f"template {name!r} is not available in lmforge: {_UNAVAILABLE[name]}")
        if name not in _REGISTRY:
            raise TemplateError(
                f"unknown template {name!r}{did_you_mean(name, _REGISTRY) or '.'} Registered templates: "
                f"{', '.join(sorted(_REGISTRY))}. Leave `template` unset to use the tokenizer's own chat template."
            )
        template = _REGISTRY[name].bind(tokenizer, tool_format=tool_format)
    if default_system is not None:
        template = dataclasses.replace(template, default_system=default_system)
    return template
