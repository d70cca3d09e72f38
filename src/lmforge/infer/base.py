"""What every chat engine shares, whatever runs the model: settings, prompts, stops and reply building.

An engine renders a conversation with the Template training used, encodes it with the tokenizer training
saved, and hands token ids to its backend (transformers' `generate`, vLLM). The backend returns generated
token ids; everything after that is here and backend-neutral: decoding, cutting at stop strings, the finish
reason, splitting reasoning off and parsing tool calls. So two backends that generate the same tokens give
the same replies, streamed or not.

A backend implements `complete_ids` (prompt ids -> generated sequences) and `stream_ids` (one prompt ->
a `Stream` of text deltas); `ChatEngine` builds chat, stream_chat, batch_generate and generate_prompts on
them. The API server, the chat CLI, the web chat and `lmforge predict` use only this interface.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transformers import TextStreamer

from lmforge.config import Config, GeneratingArguments
from lmforge.data.conversation import Conversation, Message, ToolCall
from lmforge.infer.streaming import ReasoningSplitter, StopFilter

log = logging.getLogger(__name__)

_CONFIGURED = object()  # "the engine's configured value" for arguments where None is a value

# keys a caller may pass to chat / stream_chat / batch_generate (None means "the configured default")
GENERATION_KEYS = tuple(f.name for f in dataclasses.fields(GeneratingArguments))
CALL_KEYS = ("n", "stop", "enable_thinking")


@dataclass
class Response:
    text: str  # the answer: reasoning and parsed tool calls removed
    reasoning: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str = "stop"  # stop | length | tool_calls
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class Completion:
    """One generated sequence, decoded and cut at stops, before reasoning / tool-call parsing."""

    token_ids: list[int]  # what the model generated, the stopping eos token included
    text: str  # decoded (special tokens skipped per skip_special_tokens), cut before any stop string
    finish_reason: str  # stop | length
    prompt_tokens: int

    @property
    def completion_tokens(self) -> int:
        return len(self.token_ids)


@dataclass
class Settings:
    """One call's resolved settings."""

    generation: GeneratingArguments
    n: int = 1
    stop: list[str] = field(default_factory=list)
    enable_thinking: bool | None = True


def resolve_settings(defaults: GeneratingArguments, enable_thinking: bool | None, gen: dict[str, Any]) -> Settings:
    """The configured generation settings overridden by a call's keys; ValueError names a bad key or value.

    temperature 0 means greedy decoding (as in OpenAI's API); transformers wants do_sample=False for that.
    """
    unknown = [k for k in gen if k not in GENERATION_KEYS and k not in CALL_KEYS]
    if unknown:
        raise ValueError(f"unknown generation key '{unknown[0]}'; known keys: "
                         f"{', '.join(GENERATION_KEYS + CALL_KEYS)}")
    given = {k: v for k, v in gen.items() if v is not None}
    values = {k: given[k] for k in GENERATION_KEYS if k in given}
    if values.get("temperature") == 0:
        values.pop("temperature")
        values["do_sample"] = False
    _check_ranges(values)
    settings = Settings(dataclasses.replace(defaults, **values), enable_thinking=enable_thinking)
    if "enable_thinking" in given:
        settings.enable_thinking = bool(given["enable_thinking"])
    n = given.get("n", 1)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n: expected an integer >= 1, got {n!r}")
    settings.n = n
    stop = given.get("stop", [])
    settings.stop = [stop] if isinstance(stop, str) else [s for s in stop if s]
    g = settings.generation
    if n > 1 and not g.do_sample and g.num_beams > 1 and n > g.num_beams:
        raise ValueError(f"n={n} with num_beams={g.num_beams}: beam search returns at most num_beams sequences")
    return settings


_RANGES = {
    "temperature": (lambda v: v > 0, "a number >= 0 (0 = greedy)"),
    "top_p": (lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "top_k": (lambda v: v >= 0, "an integer >= 0"),
    "num_beams": (lambda v: v >= 1, "an integer >= 1"),
    "max_new_tokens": (lambda v: v >= 1, "an integer >= 1"),
    "max_length": (lambda v: v >= 1, "an integer >= 1"),
    "repetition_penalty": (lambda v: v > 0, "a number > 0"),
}


def _check_ranges(values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key in _RANGES:
            ok, accepted = _RANGES[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not ok(value):
                raise ValueError(f"{key}: expected {accepted}, got {value!r}")


# ---------------------------------------------------------------------------------------------------------
# messages -> Conversation


def to_conversation(messages: list[Message | dict[str, Any]], system: str | None = None,
                    tools: list[dict[str, Any]] | None = None) -> Conversation:
    """Messages as Message objects or OpenAI-style dicts -> Conversation. Leading system messages become
    the system prompt (unless `system` is given)."""
    converted: list[Message] = []
    leading_system: list[str] = []
    for i, m in enumerate(messages):
        if isinstance(m, Message):
            converted.append(m)
            continue
        role = m.get("role")
        content = m.get("content") or ""
        if role == "system":
            if converted:
                raise ValueError(f"message {i}: a system message must come before the conversation")
            leading_system.append(content)
            continue
        if role not in ("user", "assistant", "tool"):
            raise ValueError(f"message {i}: unknown role {role!r}; expected system, user, assistant or tool")
        calls = [_tool_call(c) for c in m.get("tool_calls") or []]
        reasoning = m.get("reasoning_content", m.get("reasoning"))
        converted.append(Message(role, content, reasoning=reasoning, tool_calls=calls))
    if system is None and leading_system:
        system = "\n\n".join(leading_system)
    return Conversation(messages=converted, system=system, tools=tools or None)


def _tool_call(call: dict[str, Any]) -> ToolCall:
    fn = call.get("function", call)
    args = fn.get("arguments", {})
    if isinstance(args, str):
        args = json.loads(args) if args.strip() else {}
    return ToolCall(fn["name"], args)


# ---------------------------------------------------------------------------------------------------------
# text -> Response


def thinking_tags(template) -> tuple[str | None, str | None]:
    thinking = getattr(template, "thinking", None)
    return (thinking.open, thinking.close) if thinking is not None else (None, None)


def prompt_opens_reasoning(template, prompt: str) -> bool:
    """True when the generation prompt ends inside an open think block (DeepSeek-R1's `<think>\\n`)."""
    open_tag, close_tag = thinking_tags(template)
    return bool(open_tag) and prompt.rfind(open_tag) > prompt.rfind(close_tag)


def build_response(template, text: str, *, finish_reason: str, prompt_tokens: int, completion_tokens: int,
                   parse_tools: bool, in_reasoning: bool = False) -> Response:
    """A generated reply (stop strings already cut) -> Response: reasoning split off with the template's
    rule, tool calls parsed with its tool format when the caller offered tools."""
    reasoning, answer = template.split_reasoning(text)
    if reasoning is None and thinking_tags(template)[1]:
        open_tag, _ = thinking_tags(template)
        if in_reasoning:  # the prompt opened the block; thinking cut off by max_new_tokens
            reasoning, answer = text.strip("\n") or None, ""
        elif text.lstrip().startswith(open_tag):  # the reply opened it; cut off likewise
            reasoning, answer = text.lstrip().removeprefix(open_tag).strip("\n") or None, ""
    calls: list[ToolCall] = []
    if parse_tools:
        answer, calls = template.parse_tool_calls(answer)
    if calls:
        finish_reason = "tool_calls"
    return Response(answer, reasoning, calls, finish_reason, prompt_tokens, completion_tokens)


def stop_tokens(tokenizer, template, model_eos: int | list[int] | None) -> tuple[list[int], list[str]]:
    """(eos ids, stop strings): the model's eos (generation_config), the tokenizer's, and every template stop
    word that is one token are eos ids; multi-token stop words are stop strings."""
    ids: list[int] = []
    for value in (model_eos, tokenizer.eos_token_id):
        ids += value if isinstance(value, list) else [value] if value is not None else []
    strings = []
    for word in template.stop_words:
        token_ids = tokenizer.encode(word, add_special_tokens=False)
        if len(token_ids) == 1:
            ids.append(token_ids[0])
        else:
            strings.append(word)
    return list(dict.fromkeys(ids)), strings


def marker_ids(tokenizer, template) -> set[int]:
    """Ids of the special tokens the template's tool format must see in a reply to parse it (Mistral's
    [TOOL_CALLS]): decoding keeps them where it skips special tokens. Markers that are not one token of this
    tokenizer are ordinary text and survive decoding anyway."""
    fmt = getattr(template, "tool_format", None)
    ids = set()
    for marker in getattr(fmt, "markers", ()):
        token_ids = tokenizer.encode(marker, add_special_tokens=False)
        if len(token_ids) == 1:
            ids.add(token_ids[0])
    return ids


def decode_reply(tokenizer, ids: list[int], skip_special_tokens: bool, keep: set[int]) -> str:
    """Generated ids -> text. With skip_special_tokens, the special tokens in `keep` are kept: the ids are
    decoded without the other special tokens, the kept ones included."""
    if not skip_special_tokens or not keep.intersection(ids):
        return tokenizer.decode(ids, skip_special_tokens=skip_special_tokens)
    skipped = skipped_ids(tokenizer, keep)
    return tokenizer.decode([t for t in ids if t not in skipped], skip_special_tokens=False)


def skipped_ids(tokenizer, keep: set[int]) -> set[int]:
    """The special token ids that decoding with skip_special_tokens drops, less those in `keep`."""
    special = set(tokenizer.all_special_ids)
    special |= {i for i, t in tokenizer.added_tokens_decoder.items() if t.special}
    return special - keep


def stream_decoding(tokenizer, skip_special_tokens: bool, keep: set[int]) -> tuple[set[int], bool]:
    """How a streamer decodes as `decode_reply` does: the ids it drops itself and the skip_special_tokens it
    passes on. With markers to keep, it drops the other special tokens and decodes the rest as they are."""
    if not skip_special_tokens or not keep:
        return set(), skip_special_tokens
    return skipped_ids(tokenizer, keep), False


# ---------------------------------------------------------------------------------------------------------
# the engine interface


class ChatEngine:
    """The backend-neutral half of an engine. A backend sets `max_model_len` and implements `complete_ids`
    and `stream_ids`."""

    name = "base"
    max_model_len: int | None = None  # prompts must be shorter than this many tokens
    max_model_len_key = "the model's limit"  # what sets it, for the error message

    def __init__(self, tokenizer, template, *, generation: GeneratingArguments | None = None,
                 default_system: str | None = None, enable_thinking: bool | None = True,
                 model_eos: int | list[int] | None = None) -> None:
        self.tokenizer, self.template = tokenizer, template
        self.generation = generation or GeneratingArguments()
        self.default_system = default_system
        self.enable_thinking = enable_thinking
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.eos_ids, self.stop_strings = stop_tokens(tokenizer, template, model_eos)
        self.marker_ids = marker_ids(tokenizer, template)

    # ---------------------------------------------------------------- what a backend provides

    def complete_ids(self, prompts: list[list[int]], settings: Settings) -> list[list[Completion]]:
        """`settings.n` completions of each tokenised prompt."""
        raise NotImplementedError

    def stream_ids(self, prompt: str, ids: list[int], settings: Settings) -> Stream:
        raise NotImplementedError

    def predict_batch_size(self, cfg: Config) -> int:
        """Prompts per `complete_ids` call in `lmforge predict`."""
        return cfg.training.per_device_eval_batch_size

    def close(self) -> None:
        """Release what the backend holds outside this process (vLLM's engine process)."""

    # ---------------------------------------------------------------- prompts

    def settings(self, gen: dict[str, Any]) -> Settings:
        return resolve_settings(self.generation, self.enable_thinking, gen)

    def conversation(self, messages, system: str | None = None, tools=None) -> Conversation:
        conv = messages if isinstance(messages, Conversation) else to_conversation(messages, system, tools)
        if conv.tools and getattr(self.template, "tool_format", None) is None:
            # never answer as if no tools were offered: the calls the model writes could not be parsed
            raise ValueError("tools were offered, but this model's chat template has no tool format lmforge can "
                             "parse: set `tool_format` (e.g. qwen, llama3, mistral, default) or `template` when "
                             "serving, or train with `tool_format` so that it is saved with the model")
        if conv.system is None and self.default_system is not None:
            conv = dataclasses.replace(conv, system=self.default_system)
        if thinking_tags(self.template)[1] is None and any(m.reasoning is not None for m in conv.messages):
            # clients send earlier replies' reasoning back; a template without a thinking format has no
            # place for it (and thinking templates drop it from history anyway)
            messages = [dataclasses.replace(m, reasoning=None) for m in conv.messages]
            conv = dataclasses.replace(conv, messages=messages)
        return conv

    def prompt(self, messages, system: str | None = None, tools=None, enable_thinking: Any = _CONFIGURED) -> str:
        """The text the model continues: the rendered conversation and the generation prompt."""
        if enable_thinking is _CONFIGURED:
            enable_thinking = self.enable_thinking
        conv = self.conversation(messages, system, tools)
        segments = self.template.render(conv, add_generation_prompt=True, enable_thinking=enable_thinking)
        return "".join(s.text for s in segments)

    def encode(self, prompt: str) -> list[int]:
        ids = self.tokenizer.encode(prompt, add_special_tokens=False)  # the template writes bos itself
        limit = self.max_model_len
        if limit and len(ids) >= limit:
            raise ValueError(f"the prompt has {len(ids)} tokens; this model takes at most {limit} "
                             f"({self.max_model_len_key}): shorten the conversation")
        return ids

    def fit_context(self, settings: Settings, prompt_lens: list[int]) -> Settings:
        """`settings` with max_new_tokens capped at the context the longest prompt leaves (max_model_len minus
        its tokens; `encode` leaves at least one): a reply cut there ends with finish_reason "length", like
        one that reaches a smaller max_new_tokens."""
        g = settings.generation
        if not self.max_model_len or not prompt_lens:
            return settings
        room = self.max_model_len - max(prompt_lens)
        wanted = g.max_new_tokens if g.max_new_tokens > 0 else g.max_length - max(prompt_lens)
        if wanted <= room:
            return settings
        return dataclasses.replace(settings, generation=dataclasses.replace(g, max_new_tokens=room))

    # ---------------------------------------------------------------- generation

    def chat(self, messages, system: str | None = None, tools=None, **gen) -> list[Response]:
        """`n` replies (default 1) to one conversation."""
        return self.batch_generate([messages], system=system, tools=tools, **gen)[0]

    def batch_generate(self, conversations: list, system: str | None = None, tools=None, **gen) -> list[list[Response]]:
        """Replies to several conversations, generated together; `n` replies each."""
        settings = self.settings(gen)
        prompts = [self.prompt(c, system, tools, settings.enable_thinking) for c in conversations]
        return self.generate_prompts(prompts, settings, parse_tools=bool(tools))

    def generate_prompts(self, prompts: list[str], settings: Settings, *, parse_tools: bool = False) -> list[list[Response]]:
        ids = [self.encode(p) for p in prompts]
        completions = self.complete_ids(ids, self.fit_context(settings, [len(i) for i in ids]))
        results = []
        for prompt, row in zip(prompts, completions, strict=True):
            in_reasoning = prompt_opens_reasoning(self.template, prompt)
            results.append([build_response(self.template, c.text, finish_reason=c.finish_reason,
                                           prompt_tokens=c.prompt_tokens, completion_tokens=c.completion_tokens,
                                           parse_tools=parse_tools, in_reasoning=in_reasoning) for c in row])
        return results

    def finish(self, ids: list[int], prompt_tokens: int, settings: Settings, *, backend_finish: str | None = None
               ) -> Completion:
        """Generated ids -> Completion: cut after the first eos, decode, cut before the first stop string.
        `backend_finish` is the backend's own reason when it stopped for a limit of its own (vLLM's
        max_model_len)."""
        g = settings.generation
        eos = set(self.eos_ids)
        end = next((i for i, t in enumerate(ids) if t in eos), None)
        if end is not None:
            finish, count = "stop", end + 1
        else:
            end = count = len(ids)
            finish = None
        text = decode_reply(self.tokenizer, ids[:end], g.skip_special_tokens, self.marker_ids)
        stops = self.stop_strings + settings.stop
        hits = [i for i in (text.find(s) for s in stops) if i >= 0]
        if hits:
            text, finish = text[: min(hits)], "stop"
        if finish is None:
            finish = "length" if count >= g.max_new_tokens or backend_finish == "length" else "stop"
        return Completion(list(ids[:count]), text, finish, prompt_tokens)

    # ---------------------------------------------------------------- streaming

    def stream_chat(self, messages, system: str | None = None, tools=None, **gen) -> Stream:
        """Text deltas of one reply (stop strings removed), generated in the background. Iterate it;
        afterwards it holds finish_reason and token counts. Closing it early stops the generation."""
        settings = self.settings(gen)
        return self.stream_prompt(self.prompt(messages, system, tools, settings.enable_thinking), settings)

    def stream_prompt(self, prompt: str, settings: Settings) -> Stream:
        if settings.n != 1 or settings.generation.num_beams != 1:
            raise ValueError("streaming generates one sequence: use n=1 and num_beams=1")
        ids = self.encode(prompt)
        return self.stream_ids(prompt, ids, self.fit_context(settings, [len(ids)]))


class Stream:
    """An iterator of text deltas with the reply's metadata, set once the iteration ends. A backend's
    subclass implements `_deltas` (raw decoded text pieces, generation in the background) and `_cancel`."""

    def __init__(self, engine: ChatEngine, prompt: str, ids: list[int], settings: Settings) -> None:
        self.engine, self.prompt, self.settings = engine, prompt, settings
        self.ids = ids
        self.prompt_tokens = len(ids)
        self.completion_tokens = 0
        self.finish_reason: str | None = None
        self.in_reasoning = prompt_opens_reasoning(engine.template, prompt)
        self._iter = self._filtered()

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> str:
        return next(self._iter)

    def close(self) -> None:
        self._cancel()
        self._iter.close()

    def splitter(self) -> ReasoningSplitter:
        """A splitter for these deltas: reasoning vs answer, with this prompt's thinking state."""
        open_tag, close_tag = thinking_tags(self.engine.template)
        return ReasoningSplitter(open_tag, close_tag, in_reasoning=self.in_reasoning)

    # ---------------------------------------------------------------- for the backend

    def _deltas(self) -> Iterator[str]:
        """Decoded text pieces as tokens arrive (eos tokens left out); sets `completion_tokens` and
        `hit_eos` / `backend_finish` as it goes."""
        raise NotImplementedError

    def _cancel(self) -> None:
        raise NotImplementedError

    hit_eos = False
    backend_finish: str | None = None

    def _filtered(self) -> Iterator[str]:
        g = self.settings.generation
        stop_filter = StopFilter(self.engine.stop_strings + self.settings.stop)
        pieces = self._deltas()
        try:
            for piece in pieces:
                text = stop_filter.feed(piece)
                if text:
                    yield text
                if stop_filter.stopped:
                    self._cancel()
                    break
            tail = stop_filter.flush()
            if tail:
                yield tail
        finally:
            pieces.close()  # the backend ends its generation and sets completion_tokens
        if stop_filter.stopped or self.hit_eos:
            self.finish_reason = "stop"
        elif self.completion_tokens >= g.max_new_tokens or self.backend_finish == "length":
            self.finish_reason = "length"
        else:
            self.finish_reason = "stop"


class DeltaDecoder(TextStreamer):
    """transformers' incremental detokenisation (the text only grows by whole words / complete characters)
    collected into a list: `feed(ids)` returns the new text. Eos tokens are counted, not decoded; special
    tokens in `keep` (tool-call markers) are decoded even where skip_special_tokens drops the others."""

    def __init__(self, tokenizer, eos_ids: set[int], skip_special_tokens: bool, keep: set[int] = frozenset()) -> None:
        self.dropped, skip = stream_decoding(tokenizer, skip_special_tokens, set(keep))
        super().__init__(tokenizer, skip_prompt=False, skip_special_tokens=skip)
        self.eos_ids, self.count, self.hit_eos = eos_ids, 0, False
        self._pieces: list[str] = []

    def feed(self, ids: list[int]) -> str:
        import torch

        self.count += len(ids)
        kept = [t for t in ids if t not in self.eos_ids]
        self.hit_eos = self.hit_eos or len(kept) < len(ids)
        kept = [t for t in kept if t not in self.dropped]
        if kept:
            self.put(torch.tensor(kept))
        return self._take()

    def flush(self) -> str:
        self.end()
        return self._take()

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        if text:
            self._pieces.append(text)

    def _take(self) -> str:
        out, self._pieces = "".join(self._pieces), []
        return out


# ---------------------------------------------------------------------------------------------------------
# loading


def tokenizer_source(cfg: Config) -> str:
    """Where the inference tokenizer comes from: the last adapter folder that holds one (training saves its
    tokenizer there, with the chat template training used and any added tokens), else the model."""
    margs = cfg.model
    for adapter in reversed(margs.adapter_name_or_path or []):
        folder = Path(adapter) / (margs.adapter_folder or "")
        if (folder / "tokenizer_config.json").is_file():
            return str(folder)
    return margs.model_name_or_path


def load_inference_tokenizer(cfg: Config):
    """The tokenizer of `tokenizer_source`, set up as training set it up."""
    from transformers import AutoConfig

    from lmforge.models.loader import load_tokenizer, resolve_model_path

    margs = cfg.model
    source = tokenizer_source(cfg)
    if source == margs.model_name_or_path:
        return load_tokenizer(margs)
    tokenizer = load_tokenizer(dataclasses.replace(margs, model_name_or_path=source, model_revision="main"))
    config = AutoConfig.from_pretrained(resolve_model_path(margs.model_name_or_path, margs),
                                        cache_dir=margs.cache_dir, revision=margs.model_revision,
                                        token=margs.hf_hub_token, trust_remote_code=margs.trust_remote_code)
    if len(tokenizer) > getattr(config, "vocab_size", len(tokenizer)):
        margs.resize_vocab = True  # training added tokens: the embeddings grow as they did in training
    return tokenizer


def inference_dtype(cfg: Config):
    """infer_dtype, or with `auto`: float32 on CPU; on a GPU bfloat16 where supported, else float16."""
    import torch

    name = cfg.model.infer_dtype
    if name != "auto":
        return getattr(torch, name)
    if not torch.cuda.is_available():
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
