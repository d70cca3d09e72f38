"""The one internal form every dataset format is converted into and every template consumes.

Nothing after `formats.py` knows about dataset column names; nothing before `encoding.py` knows about
token ids. This module is the contract between the two.

Conventions:
- `Conversation.system` holds the system prompt (None when the row has none); `messages` never contains
  a system message.
- Roles are "user", "assistant" and "tool" (a tool result / observation).
- An assistant message may carry `tool_calls` (then its `content` may be empty) and `reasoning` (the text
  a thinking model writes inside its think block) when the data gave it as a separate field. Reasoning
  written inline as `<think>...</think>` in `content` stays in `content`, verbatim: templates split it the
  way each model's official template does.
- `tools` is a list of OpenAI-style tool schemas: ``{"type": "function", "function": {"name": ...,
  "description": ..., "parameters": {...}}}`` -- the shape `tokenizer.apply_chat_template(tools=...)` takes.
- Preference rows (ranking datasets): `messages` is the shared prompt (ending with a user or tool message)
  and `chosen` / `rejected` are the two candidate assistant replies.
- KTO rows: `messages` ends with the assistant reply and `kto_tag` says whether it is desirable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["user", "assistant", "tool"]
ROLES: tuple[str, ...] = ("user", "assistant", "tool")


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]  # parsed JSON object, as OpenAI's `function.arguments` after json.loads

    def to_openai(self) -> dict[str, Any]:
        """The shape HF chat templates expect inside `message["tool_calls"]`."""
        return {"type": "function", "function": {"name": self.name, "arguments": self.arguments}}


@dataclass
class Message:
    role: Role
    content: str = ""
    reasoning: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)

    def to_openai(self) -> dict[str, Any]:
        """The message as a dict for `apply_chat_template` (used by the jinja path and by tests)."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.reasoning is not None:
            out["reasoning_content"] = self.reasoning
        if self.tool_calls:
            out["tool_calls"] = [call.to_openai() for call in self.tool_calls]
        return out


@dataclass
class Conversation:
    messages: list[Message]
    system: str | None = None
    tools: list[dict[str, Any]] | None = None
    chosen: Message | None = None
    rejected: Message | None = None
    kto_tag: bool | None = None
    images: list[str] = field(default_factory=list)
    videos: list[str] = field(default_factory=list)
    audios: list[str] = field(default_factory=list)

    @property
    def is_pairwise(self) -> bool:
        return self.chosen is not None or self.rejected is not None

    def to_openai(self) -> list[dict[str, Any]]:
        """All messages (system first when present) as dicts for `apply_chat_template`."""
        head = [{"role": "system", "content": self.system}] if self.system is not None else []
        return head + [m.to_openai() for m in self.messages]
