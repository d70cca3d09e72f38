"""The jinja path (`template` unset): render with the tokenizer's own chat_template and find the assistant
replies in the rendering itself.

Segmentation rule. Let R be the rendering of the whole conversation and, for assistant message k,
P_k the rendering of the messages before it with a generation prompt:
  - reply k starts where P_k and R part ways (normally P_k is a prefix of R, and the reply starts at its
    end; a template whose history does not repeat its generation prompt, like DeepSeek-R1's `<think>\\n`,
    parts earlier, and the point is moved back to the last newline or added token before it). It must lie
    in the generation prompt, not in earlier messages: a template that moves text around depending on
    which message is last (Mistral v0.3 puts the system prompt into the last user message) cannot be cut;
  - reply k ends after the first end-of-turn token at or after its start. The end-of-turn token is learned
    once from a probe conversation (the first added token the template writes after a reply). This also
    covers templates that rewrite a turn once it is no longer the last one (Qwen3 and DeepSeek-R1 strip
    its reasoning; Phi-3 appends eos only at the very end), where "the rendering up to reply k" is not a
    prefix of R. A template without an end-of-turn token (GLM) is cut where the rendering up to reply k
    ends, which must then be a prefix of R;
  - whitespace right after the end-of-turn token is prompt, and belongs to the reply's turn.
Anything that breaks these rules raises a TemplateError naming the message; pick a registered template then.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from typing import Any

from lmforge.data.conversation import Conversation
from lmforge.errors import TemplateError
from lmforge.templates.core import Segment, Template, Thinking, with_default_system
from lmforge.templates.tools import get_tool_format

_PROBE_Q, _PROBE_A = "lmforge probe question", "lmforge probe answer"


def sniff_tool_format(source: str) -> str | None:
    """The tool format a chat template writes, recognised by its markers (most specific first)."""
    if "<seed:tool_call>" in source:
        return "seed_oss"
    if "<arg_key>" in source:
        return "glm4_moe"
    if "<tool_call>" in source:
        return "qwen"
    if "[TOOL_CALLS]" in source:
        return "mistral"
    if "可用工具" in source:
        return "glm4"
    if "<|python_start|>" in source:
        return "llama4"
    if "ipython" in source and '"parameters"' in source:
        return "llama3"
    return None


@dataclass(frozen=True, eq=False)
class JinjaTemplate(Template):
    tokenizer: Any = field(default=None, compare=False, repr=False)
    markers: frozenset[str] = field(default=frozenset(), compare=False, repr=False)  # added tokens

    @classmethod
    def from_tokenizer(cls, tokenizer: Any, tool_format: str | None = None) -> JinjaTemplate:
        source = tokenizer.chat_template
        if isinstance(source, dict):
            source = source.get("default")
        if not source:
            raise TemplateError(
                "`template` is not set and the tokenizer has no chat_template. Set `template` to the model's "
                "family (see `lmforge.templates.list_templates()`), e.g. `template: qwen3`."
            )
        fmt = tool_format or sniff_tool_format(source)
        template = cls(
            name="jinja",
            tokenizer=tokenizer,
            markers=frozenset(t for t in (*tokenizer.get_added_vocab(), *tokenizer.all_special_tokens) if t),
            bos=tokenizer.bos_token or "",
            eos=tokenizer.eos_token or "",
            thinking=Thinking() if "</think>" in source else None,
            tool_format=get_tool_format(fmt) if fmt else None,
        )
        eot = template._probe_end_of_turn()
        stop = list(dict.fromkeys(w for w in (eot, tokenizer.eos_token) if w))
        return dataclasses.replace(template, end_of_turn=eot or "", stop_words=stop)

    def chat_template(self) -> str:
        source = self.tokenizer.chat_template
        return with_default_system(
            source.get("default") if isinstance(source, dict) else source, self.default_system
        )

    def validate(self, conv: Conversation) -> None:
        pass  # the tokenizer's template decides what it accepts (it raises, we re-raise as TemplateError)

    # ------------------------------------------------------------------ rendering

    def _apply(
        self, messages: list[dict], tools: Any, add_generation_prompt: bool, enable_thinking: Any
    ) -> str:
        if not messages:
            return ""
        # enable_thinking=None means "the template's default": leave it undefined (GLM-4.5 reads a defined
        # None as thinking off)
        switches = {} if enable_thinking is None else {"enable_thinking": enable_thinking}
        try:
            return self.tokenizer.apply_chat_template(
                messages, tools=tools, tokenize=False, add_generation_prompt=add_generation_prompt, **switches
            )
        except Exception as e:  # jinja2's TemplateError from raise_exception, or the template's own bug
            raise TemplateError(f"the tokenizer's chat template rejected the conversation: {e}") from e

    def with_system(self, conv: Conversation) -> Conversation:
        """The conversation with `default_system` as its system prompt when it has none."""
        if conv.system is None and self.default_system is not None:
            return dataclasses.replace(conv, system=self.default_system)
        return conv

    def render_prompt(self, conv: Conversation, *, enable_thinking: bool | None = True) -> str:
        """One rendering with a generation prompt (render() renders once per message to find the replies)."""
        conv = self.with_system(conv)
        return self._apply(conv.to_openai(), conv.tools, True, enable_thinking)

    def render(
        self, conv: Conversation, *, add_generation_prompt: bool = False, enable_thinking: bool | None = True
    ) -> list[Segment]:
        if any(m.role == "assistant" for m in conv.messages) and _is_harmony(self.chat_template()):
            raise TemplateError(
                "the tokenizer's chat template is gpt-oss's harmony format, whose replies the jinja path cannot cut "
                "(a reply ends with <|return|> only while it is the last one, and a tool call's reasoning is "
                "dropped once a final answer follows). Set `template: gpt_oss`."
            )
        conv = self.with_system(conv)
        msgs = conv.to_openai()
        offset = len(msgs) - len(conv.messages)  # 1 when a system message leads

        def apply(n: int, agp: bool) -> str:
            return self._apply(msgs[:n], conv.tools, agp, enable_thinking)

        full = apply(len(msgs), add_generation_prompt)
        turns = _turns(conv)
        spans: list[tuple[int, int, int]] = []  # (start, end, turn) of each reply
        boundaries: list[tuple[int, int]] = []  # (position, turn) where a new exchange starts
        prev_end = 0
        for i, m in enumerate(conv.messages):
            k = i + offset
            if m.role == "user" and turns[i] > 0 and conv.messages[i - 1].role != "user":
                start = len(os.path.commonprefix([apply(k, False), full]))
                boundaries.append((self._snap(full, prev_end, start), turns[i]))
            if m.role != "assistant":
                continue
            start, end = self._reply_span(i, k, apply, full, prev_end)
            spans.append((start, end, turns[i]))
            prev_end = end + len(re.match(r"\s*", full[end:]).group())
        return _cut(full, spans, boundaries)

    def _reply_span(self, i: int, k: int, apply, full: str, prev_end: int) -> tuple[int, int]:
        if k == 0:
            raise TemplateError(f"message {i} is an assistant message with nothing before it to prompt it")
        prompt = apply(k, True)
        start = len(os.path.commonprefix([prompt, full]))
        history = len(os.path.commonprefix([apply(k, False), prompt]))
        if history <= start < len(prompt):
            start = self._snap(full, history, start)
        if start < history or start < prev_end:
            raise TemplateError(
                f"cannot find reply {i} in the rendering: the tokenizer's chat template renders the messages "
                f"before it differently once the reply is added (e.g. it moves the system prompt to the last "
                f"user message). Set `template` to the model's family (see list_templates())."
            )
        if self.end_of_turn:
            end = full.find(self.end_of_turn, start)
            if end >= 0:
                return start, end + len(self.end_of_turn)
        through = apply(k + 1, False)
        if full.startswith(through) and len(through) >= start:
            return start, len(through.rstrip()) if self.end_of_turn else len(through)
        raise TemplateError(
            f"cannot find the end of reply {i}: the tokenizer's chat template writes no end-of-turn token after "
            f"it and renders it differently once more messages follow. Set `template` to the model's family."
        )

    def _snap(self, text: str, lo: int, hi: int) -> int:
        """The last position in [lo, hi] right after a newline or an added token (else lo): a character-level
        common prefix can end inside a token (`<t` of `<think>` vs `<tool_call>`)."""
        ends = {t[-1] for t in self.markers}
        for p in range(hi, lo, -1):
            if text[p - 1] == "\n" or (
                text[p - 1] in ends and any(text.endswith(t, 0, p) for t in self.markers)
            ):
                return p
        return lo

    def _probe_end_of_turn(self) -> str | None:
        """The first added token the template writes after a reply (`<|im_end|>`, `<|eot_id|>`, `</s>`...)."""
        user = {"role": "user", "content": _PROBE_Q}
        try:
            prompt = self._apply([user], None, True, True)
            full = self._apply([user, {"role": "assistant", "content": _PROBE_A}], None, False, True)
        except TemplateError:
            return None
        # (the history need not repeat the generation prompt: MiniMax-M2's opens a think block it does not)
        start = len(os.path.commonprefix([prompt, full]))
        if _PROBE_A not in full[start:]:
            return None
        after = full[start:].split(_PROBE_A, 1)[1].lstrip()
        matches = [t for t in self.markers if after.startswith(t)]
        return max(matches, key=len) if matches else None


def _is_harmony(source: str) -> bool:
    return "<|channel|>" in source and "<|return|>" in source


def _turns(conv: Conversation) -> list[int]:
    """The exchange index of every message: a user message after an assistant or tool message starts one."""
    turns, turn = [], 0
    for i, m in enumerate(conv.messages):
        if m.role == "user" and i > 0 and conv.messages[i - 1].role != "user":
            turn += 1
        turns.append(turn)
    return turns


def _cut(full: str, spans: list[tuple[int, int, int]], boundaries: list[tuple[int, int]]) -> list[Segment]:
    """Segments of `full`: the reply spans are trainable, the rest is prompt split at exchange boundaries."""
    cuts = sorted(
        {0, len(full)} | {p for p, _ in boundaries} | {s for s, _, _ in spans} | {e for _, e, _ in spans}
    )
    cuts = [c for c in cuts if 0 <= c <= len(full)]
    out: list[Segment] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        reply = next((t for s, e, t in spans if s <= a and b <= e), None)
        if reply is not None:
            seg = Segment(full[a:b], True, reply)
        else:
            turn = max((t for p, t in boundaries if p <= a), default=0)
            seg = Segment(full[a:b], False, turn)
        if out and out[-1].trainable == seg.trainable and out[-1].turn == seg.turn:
            out[-1] = Segment(out[-1].text + seg.text, seg.trainable, seg.turn)
        elif seg.text:
            out.append(seg)
    return out
