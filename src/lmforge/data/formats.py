"""alpaca / sharegpt / openai rows -> Conversation, the one internal form (see conversation.py).

Meanings follow LLaMA-Factory's converters:
- alpaca: `history` is a list of [prompt, response] pairs; the user turn is instruction and input joined
  by "\\n" (either may be empty); `output` is the reply; ranking rows take `chosen`/`rejected` strings.
- sharegpt: roles come from `tags`; user/observation messages sit at even positions (0, 2, ...) and
  assistant/function_call at odd ones, after an optional leading system message; a function_call value is
  JSON (one call or a list of calls: {"name", "arguments"}), an observation is a tool result; `tools` is a
  JSON list of functions. Ranking rows take `chosen`/`rejected` messages and a prompt that ends with a
  user/observation message; KTO rows carry a boolean `kto_tag`.
- openai: role/content messages; assistant messages may carry `tool_calls` (arguments as a JSON string
  or an object) and `reasoning_content` or `reasoning`; several tool results may follow one assistant
  message.

A row that cannot be read raises `InvalidRow(reason, detail)`; the loader counts the reasons, reports the
first row numbers of each, and skips the rows (or stops, with LMFORGE_STRICT_DATA=1).

Objects that reached us as structured data (not JSON text) -- tool schemas and tool-call arguments --
have keys whose value is None removed: Arrow stores a column of differing objects as one struct type and
fills every key a row lacks with null, which would otherwise add phantom parameters.
"""

from __future__ import annotations

import json
import os
from typing import Any

from lmforge.data.conversation import Conversation, Message, ToolCall
from lmforge.data.registry import MEDIA_ROLES, DatasetSpec, media_error
from lmforge.errors import DataError, did_you_mean

PAIRWISE_STAGES = ("rm", "dpo")
UNSUPERVISED_STAGES = ("ppo", "grpo", "predict")


class InvalidRow(Exception):
    """A row that cannot become a Conversation (or cannot be used by the stage)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


# ---------------------------------------------------------------------------------------------------------
# columns


def check_columns(spec: DatasetSpec, column_names: list[str]) -> None:
    """DataError naming the dataset, the registered column and the columns the data has, if one is missing;
    or naming a media column (images / videos / audios), which text-only training cannot use."""
    mapped = set(spec.columns.mapped().values())
    for column in column_names:
        if column in MEDIA_ROLES and column not in mapped:
            raise media_error(spec, column)
    for role, column in spec.columns.mapped().items():
        if column in column_names:
            continue
        if role in spec.optional:
            continue
        if spec.formatting == "openai" and role == "messages" and "conversations" in column_names:
            continue  # read_messages falls back to LLaMA-Factory's default column name
        raise DataError(f"{spec.describe()}: column '{column}' (columns.{role}) is not in the data; its "
                        f"columns are: {', '.join(column_names)}{did_you_mean(column, column_names)}")


def _value(row: dict, column: str | None) -> Any:
    return row.get(column) if column else None


def _text(value: Any, what: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # OpenAI content parts
        texts = []
        for part in value:
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            else:
                raise InvalidRow("unsupported content", f"{what}: only text content parts are read, got {part!r}")
        return "".join(texts)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # csv/parquet numbers ("answer": 4)
    raise InvalidRow("bad value", f"{what}: expected text, got {type(value).__name__} {value!r}")


# ---------------------------------------------------------------------------------------------------------
# tools and tool calls


def _drop_none(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_drop_none(v) for v in obj]
    return obj


def _items(value: Any, reason: str, what: str) -> list:
    """JSON text, or an already parsed value (None fields dropped) -> the list of its items (one item alone
    is a list of one)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise InvalidRow(reason, f"{what} is not valid JSON ({e.msg} at column {e.colno}): {value[:80]!r}") \
                from None
    else:
        value = _drop_none(value)
    return value if isinstance(value, list) else [value]


def parse_tools(value: Any) -> list[dict[str, Any]] | None:
    """A tools column (JSON text, one function, or a list of functions) -> OpenAI-style tool schemas."""
    if value is None or value == "" or value == []:
        return None
    items = _items(value, "bad tools", "tools")
    tools = []
    for item in items:
        if isinstance(item, dict) and item.get("type") == "function" and isinstance(item.get("function"), dict):
            tools.append(item)
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            tools.append({"type": "function", "function": item})
        else:
            raise InvalidRow("bad tools", f"a tool must be a function object with a name, got {item!r}")
    return tools or None


def parse_tool_calls(value: Any, what: str) -> list[ToolCall]:
    """A function_call value or an OpenAI tool_calls list -> ToolCalls."""
    items = _items(value, "bad function_call", what)
    if not items:
        raise InvalidRow("bad function_call", f"{what} holds no call")
    calls = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("function"), dict):
            item = item["function"]  # {"type": "function", "id": ..., "function": {...}}
        if not (isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"]):
            raise InvalidRow("bad function_call", f"{what}: a call needs a name, got {item!r}")
        arguments = item.get("arguments", {})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except json.JSONDecodeError as e:
                raise InvalidRow("bad function_call",
                                 f"{what}: arguments of '{item['name']}' are not valid JSON ({e.msg})") from None
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise InvalidRow("bad function_call",
                             f"{what}: arguments of '{item['name']}' must be a JSON object, got {arguments!r}")
        calls.append(ToolCall(name=item["name"], arguments=arguments))
    return calls


# ---------------------------------------------------------------------------------------------------------
# media


def _media(value: Any, what: str, media_dir: str | None) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            item = item["path"]
        if not isinstance(item, str):
            raise InvalidRow("bad media", f"{what}: expected file paths, got {type(item).__name__}")
        if media_dir and os.path.isfile(os.path.join(media_dir, item)):
            item = os.path.join(media_dir, item)  # as LLaMA-Factory: relative to media_dir when it exists there
        out.append(item)
    return out


def _common(row: dict, spec: DatasetSpec, media_dir: str | None, system: str | None) -> dict[str, Any]:
    c = spec.columns
    local = spec.load_from in ("file", "script")
    kto_tag = _value(row, c.kto_tag)
    if kto_tag is not None and not isinstance(kto_tag, bool):
        if kto_tag in (0, 1) and not isinstance(kto_tag, float):
            kto_tag = bool(kto_tag)
        else:
            raise InvalidRow("bad kto_tag", f"{c.kto_tag} must be true or false, got {kto_tag!r}")
    return dict(
        system=system or None,
        tools=parse_tools(_value(row, c.tools)),
        kto_tag=kto_tag,
        images=_media(_value(row, c.images), "images", media_dir if local else None),
        videos=_media(_value(row, c.videos), "videos", media_dir if local else None),
        audios=_media(_value(row, c.audios), "audios", media_dir if local else None),
    )


def _system_column(row: dict, spec: DatasetSpec) -> str | None:
    return _text(_value(row, spec.columns.system), "system") or None


# ---------------------------------------------------------------------------------------------------------
# alpaca


def _alpaca(row: dict, spec: DatasetSpec, media_dir: str | None) -> Conversation:
    c = spec.columns
    messages: list[Message] = []
    history = _value(row, c.history)
    if history not in (None, "", []):
        if not isinstance(history, list):
            raise InvalidRow("bad history", f"history must be a list of [prompt, response] pairs, got {history!r}")
        for pair in history:
            if not (isinstance(pair, list | tuple) and len(pair) == 2):
                raise InvalidRow("bad history", f"history items must be [prompt, response] pairs, got {pair!r}")
            messages.append(Message("user", _text(pair[0], "history prompt")))
            messages.append(Message("assistant", _text(pair[1], "history response")))
    parts = [_text(_value(row, col), name) for col, name in ((c.prompt, "prompt"), (c.query, "query")) if col]
    messages.append(Message("user", "\n".join(p for p in parts if p)))

    conv = Conversation(messages=messages, **_common(row, spec, media_dir, _system_column(row, spec)))
    if spec.ranking:
        conv.chosen = _alpaca_reply(_value(row, c.chosen), "chosen", spec)
        conv.rejected = _alpaca_reply(_value(row, c.rejected), "rejected", spec)
    elif c.response and _value(row, c.response) is not None:
        messages.append(Message("assistant", _text(_value(row, c.response), "response")))
    return conv


def _alpaca_reply(value: Any, what: str, spec: DatasetSpec) -> Message:
    if isinstance(value, dict):  # tolerate message objects in alpaca ranking data
        return _reply_message(value, what, spec)
    return Message("assistant", _text(value, what))


# ---------------------------------------------------------------------------------------------------------
# sharegpt


def _messages_value(row: dict, spec: DatasetSpec) -> list:
    column = spec.columns.messages
    if column not in row and spec.formatting == "openai" and "conversations" in row:
        column = "conversations"
    messages = row.get(column)
    if not isinstance(messages, list) or not messages:
        raise InvalidRow("no messages", f"'{column}' must be a non-empty list of messages, got {messages!r}")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or spec.tags.role_tag not in m:
            raise InvalidRow("bad message", f"message {i} has no '{spec.tags.role_tag}': {m!r}")
    return messages


def _split_system(messages: list[dict], row: dict, spec: DatasetSpec) -> tuple[str | None, list[dict]]:
    t = spec.tags
    if messages[0].get(t.role_tag) == t.system_tag:
        return _text(messages[0].get(t.content_tag), "system message") or None, messages[1:]
    return _system_column(row, spec), messages


def _sharegpt(row: dict, spec: DatasetSpec, media_dir: str | None) -> Conversation:
    t = spec.tags
    system, raw = _split_system(_messages_value(row, spec), row, spec)
    odd, even = (t.user_tag, t.observation_tag), (t.assistant_tag, t.function_tag)
    messages = []
    for i, m in enumerate(raw):
        role = m.get(t.role_tag)
        if role not in odd + even:
            raise InvalidRow("unknown role", f"message {i}: role '{role}' is none of the tags "
                             f"{', '.join(odd + even)}")
        expected = odd if i % 2 == 0 else even
        if role not in expected:
            raise InvalidRow("role order", f"message {i} is '{role}' where {' or '.join(expected)} belongs "
                             "(user/observation and assistant/function_call must alternate)")
        messages.append(_sharegpt_message(role, m.get(t.content_tag), f"message {i}", spec))
    return _conversation(messages, row, spec, media_dir, system)


def _conversation(messages: list[Message], row: dict, spec: DatasetSpec, media_dir: str | None,
                  system: str | None) -> Conversation:
    """The checked messages of a sharegpt / openai row as a Conversation, with the pair of a ranking dataset."""
    _check_ending(messages, spec)
    conv = Conversation(messages=messages, **_common(row, spec, media_dir, system))
    if spec.ranking:
        conv.chosen = _reply_message(_value(row, spec.columns.chosen), "chosen", spec)
        conv.rejected = _reply_message(_value(row, spec.columns.rejected), "rejected", spec)
    return conv


def _sharegpt_message(role: str, content: Any, what: str, spec: DatasetSpec) -> Message:
    t = spec.tags
    if role == t.function_tag:
        return Message("assistant", "", tool_calls=parse_tool_calls(content, f"{what} (function_call)"))
    text = _text(content, what)
    if role == t.observation_tag:
        return Message("tool", text)
    return Message("user" if role == t.user_tag else "assistant", text)


def _check_ending(messages: list[Message], spec: DatasetSpec) -> None:
    last = messages[-1].role if messages else None
    if spec.ranking and last == "assistant":
        raise InvalidRow("role order", "a ranking prompt must end with a user or observation message; the "
                         "replies go in chosen/rejected")
    if not spec.ranking and last != "assistant":
        raise InvalidRow("role order", f"the conversation ends with a {last} message; it must end with the "
                         "assistant's reply")


def _reply_message(value: Any, what: str, spec: DatasetSpec) -> Message:
    """A chosen/rejected reply: a message object with role/content tags, or plain text."""
    t = spec.tags
    if value is None:
        raise InvalidRow("empty chosen/rejected", f"{what} is missing")
    if isinstance(value, str):
        return Message("assistant", value)
    if not isinstance(value, dict):
        raise InvalidRow("bad value", f"{what} must be a message object, got {value!r}")
    role = value.get(t.role_tag, t.assistant_tag)
    if spec.formatting == "openai":
        return _openai_assistant(value, what, spec, function=(role == t.function_tag))
    if role not in (t.assistant_tag, t.function_tag):
        raise InvalidRow("role order", f"{what} has role '{role}'; a reply is {t.assistant_tag} or "
                         f"{t.function_tag}")
    return _sharegpt_message(role, value.get(t.content_tag), what, spec)


# ---------------------------------------------------------------------------------------------------------
# openai


def _openai_assistant(m: dict, what: str, spec: DatasetSpec, function: bool = False) -> Message:
    content = m.get(spec.tags.content_tag)
    if function:  # a function_call-tagged message: its content is the call
        return Message("assistant", "", tool_calls=parse_tool_calls(content, f"{what} (function_call)"))
    calls = m.get("tool_calls")
    tool_calls = parse_tool_calls(calls, f"{what} tool_calls") if calls else []
    reasoning = m.get("reasoning_content")
    if reasoning is None:
        reasoning = m.get("reasoning")
    reasoning = _text(reasoning, f"{what} reasoning") if reasoning is not None else None
    return Message("assistant", _text(content, what), reasoning=reasoning, tool_calls=tool_calls)


def _openai(row: dict, spec: DatasetSpec, media_dir: str | None) -> Conversation:
    t = spec.tags
    system, raw = _split_system(_messages_value(row, spec), row, spec)
    messages: list[Message] = []
    for i, m in enumerate(raw):
        role, what = m.get(t.role_tag), f"message {i}"
        if role == t.user_tag:
            message = Message("user", _text(m.get(t.content_tag), what))
        elif role in (t.assistant_tag, t.function_tag):
            message = _openai_assistant(m, what, spec, function=(role == t.function_tag))
        elif role == t.observation_tag:
            message = Message("tool", _text(m.get(t.content_tag), what))
        else:
            known = (t.user_tag, t.assistant_tag, t.observation_tag, t.function_tag)
            raise InvalidRow("unknown role", f"{what}: role '{role}' is none of {', '.join(known)}")
        _check_follows(messages[-1] if messages else None, message, i)
        messages.append(message)
    return _conversation(messages, row, spec, media_dir, system)


def _check_follows(prev: Message | None, message: Message, i: int) -> None:
    """OpenAI order: user, then assistant; an assistant with tool calls is followed by one or more tool
    results and then an assistant again."""
    if prev is None:
        ok = message.role == "user"
    elif message.role == "user":
        ok = prev.role == "assistant" and not prev.tool_calls
    elif message.role == "assistant":
        ok = prev.role in ("user", "tool")
    else:  # tool
        ok = prev.role == "tool" or (prev.role == "assistant" and bool(prev.tool_calls))
    if not ok:
        after = f"after a {prev.role} message" if prev else "first"
        raise InvalidRow("role order", f"message {i}: a {message.role} message cannot come {after}")


# ---------------------------------------------------------------------------------------------------------
# entry points

_CONVERTERS = {"alpaca": _alpaca, "sharegpt": _sharegpt, "openai": _openai}


def row_to_conversation(row: dict, spec: DatasetSpec, media_dir: str | None = None) -> Conversation:
    """One row of `spec`'s dataset -> Conversation; InvalidRow if it cannot be read."""
    conv = _CONVERTERS[spec.formatting](row, spec, media_dir)
    if spec.columns.images or conv.images:
        _check_images(conv, spec.columns.images or "images", media_dir)
    return conv


def _check_images(conv: Conversation, column: str, media_dir: str | None) -> None:
    """As many `<image>` placeholders as images, and every image file there and readable."""
    from lmforge.media import IMAGE_PLACEHOLDER, count_placeholders
    from lmforge.media.images import MediaFileError, image_size

    n = count_placeholders(conv, IMAGE_PLACEHOLDER)
    if n != len(conv.images):
        raise InvalidRow("image count", f"{n} {IMAGE_PLACEHOLDER} placeholder(s) in the text but "
                         f"{len(conv.images)} image(s) in '{column}'")
    for i, path in enumerate(conv.images):
        try:
            image_size(path)
        except MediaFileError as e:
            where = f" (media_dir: '{media_dir}')" if media_dir and not os.path.isabs(path) else ""
            raise InvalidRow("bad image", f"{column}[{i}]: {e}{where}") from None


def check_for_stage(conv: Conversation, stage: str) -> None:
    """InvalidRow if the conversation has nothing for `stage` to learn from."""
    if stage == "pt":
        if not conv.messages or not conv.messages[0].content:
            raise InvalidRow("empty content", "no text")
        return
    for i, m in enumerate(conv.messages):
        if m.role == "user" and not m.content:
            raise InvalidRow("empty content", f"message {i}: empty user message")
        if m.role == "assistant" and not (m.content or m.tool_calls or m.reasoning):
            raise InvalidRow("empty content", f"message {i}: empty assistant reply")
    last = conv.messages[-1].role if conv.messages else None
    if stage in PAIRWISE_STAGES:
        for what, reply in (("chosen", conv.chosen), ("rejected", conv.rejected)):
            if reply is None or not (reply.content or reply.tool_calls):
                raise InvalidRow("empty chosen/rejected", f"{what} is empty")
        if last not in ("user", "tool"):
            raise InvalidRow("role order", "the prompt of a ranking row must end with a user or tool message")
    elif stage in UNSUPERVISED_STAGES:
        if last is None:
            raise InvalidRow("no messages", "no prompt")
    else:  # sft, kto
        if last != "assistant":
            raise InvalidRow("no reply", "the row has no assistant reply to train on")
        if stage == "kto" and conv.kto_tag is None:
            raise InvalidRow("bad kto_tag", "a KTO row needs a true/false kto_tag")


# ---------------------------------------------------------------------------------------------------------
# (de)serialisation: Arrow columns hold a conversation as JSON text, whatever shape its tool arguments have


def _message_dict(m: Message | None) -> dict | None:
    if m is None:
        return None
    d: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.reasoning is not None:
        d["reasoning"] = m.reasoning
    if m.tool_calls:
        d["tool_calls"] = [{"name": c.name, "arguments": c.arguments} for c in m.tool_calls]
    return d


def dump_conversation(conv: Conversation) -> str:
    d = {"messages": [_message_dict(m) for m in conv.messages], "system": conv.system, "tools": conv.tools,
         "chosen": _message_dict(conv.chosen), "rejected": _message_dict(conv.rejected), "kto_tag": conv.kto_tag,
         "images": conv.images, "videos": conv.videos, "audios": conv.audios}
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"))


def _message(d: dict | None) -> Message | None:
    if d is None:
        return None
    calls = d.get("tool_calls")
    calls = [ToolCall(c["name"], c["arguments"]) for c in calls] if calls else []
    return Message(d["role"], d["content"], d.get("reasoning"), calls)


def load_conversation(text: str) -> Conversation:
    d = json.loads(text)
    return Conversation(
        messages=[_message(m) for m in d["messages"]], system=d.get("system"), tools=d.get("tools"),
        chosen=_message(d.get("chosen")), rejected=_message(d.get("rejected")), kto_tag=d.get("kto_tag"),
        images=d.get("images") or [], videos=d.get("videos") or [], audios=d.get("audios") or [],
    )
