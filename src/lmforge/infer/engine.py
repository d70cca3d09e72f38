"""The chat engine: messages in, replies out (answer, reasoning, tool calls, finish reason, token counts).

`HuggingfaceEngine` runs transformers' `generate` on the model lmforge trains: the base model with the
adapters of `adapter_name_or_path` merged in memory, or a merged / fully fine-tuned model. Prompts are
rendered by the same Template training used (with `template` unset, the chat_template saved in the
checkpoint), so inference sees exactly what training saw.

Generation stops at an eos token (the model's, the tokenizer's, and every template stop word that is one
token) or at a stop string (multi-token template stop words and the caller's `stop`), whichever comes first.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

from lmforge.config import Config, GeneratingArguments
from lmforge.data.conversation import Conversation, Message, ToolCall
from lmforge.errors import ConfigError
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
    import json

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
        if in_reasoning or text.lstrip().startswith(open_tag):  # thinking cut off by max_new_tokens
            reasoning, answer = text.lstrip().removeprefix(open_tag).strip("\n") or None, ""
    calls: list[ToolCall] = []
    if parse_tools:
        answer, calls = template.parse_tool_calls(answer)
    if calls:
        finish_reason = "tool_calls"
    return Response(answer, reasoning, calls, finish_reason, prompt_tokens, completion_tokens)


# ---------------------------------------------------------------------------------------------------------
# the engine


class HuggingfaceEngine:
    name = "huggingface"

    def __init__(self, model, tokenizer, template, *, generation: GeneratingArguments | None = None,
                 default_system: str | None = None, enable_thinking: bool | None = True) -> None:
        self.model, self.tokenizer, self.template = model, tokenizer, template
        self.generation = generation or GeneratingArguments()
        self.default_system = default_system
        self.enable_thinking = enable_thinking
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.eos_ids, self.stop_strings = self._stops()

    @classmethod
    def from_config(cls, cfg: Config) -> HuggingfaceEngine:
        from lmforge.models.adapters import apply_finetuning
        from lmforge.models.loader import load_model
        from lmforge.templates import get_template

        tokenizer = load_inference_tokenizer(cfg)
        template = get_template(cfg.data.template, tokenizer, tool_format=cfg.data.tool_format)
        dtype = inference_dtype(cfg)
        model = load_model(with_dtype(cfg, dtype), tokenizer, trainable=False)
        model = apply_finetuning(model, cfg, is_trainable=False)  # merges adapter_name_or_path in memory
        if torch.cuda.is_available() and cfg.model.quantization_bit is None:
            model = model.to("cuda")
        model.eval()
        log.info("inference model: %s%s, %s on %s", cfg.model.model_name_or_path,
                 f" + {','.join(cfg.model.adapter_name_or_path)}" if cfg.model.adapter_name_or_path else "",
                 dtype, model.device)
        return cls(model, tokenizer, template, generation=cfg.generation, default_system=cfg.data.default_system,
                   enable_thinking=cfg.data.enable_thinking)

    def _stops(self) -> tuple[list[int], list[str]]:
        ids: list[int] = []
        configured = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        for value in (configured, self.tokenizer.eos_token_id):
            ids += value if isinstance(value, list) else [value] if value is not None else []
        strings = []
        for word in self.template.stop_words:
            token_ids = self.tokenizer.encode(word, add_special_tokens=False)
            if len(token_ids) == 1:
                ids.append(token_ids[0])
            else:
                strings.append(word)
        return list(dict.fromkeys(ids)), strings

    # ---------------------------------------------------------------- prompts

    def settings(self, gen: dict[str, Any]) -> Settings:
        return resolve_settings(self.generation, self.enable_thinking, gen)

    def conversation(self, messages, system: str | None = None, tools=None) -> Conversation:
        conv = messages if isinstance(messages, Conversation) else to_conversation(messages, system, tools)
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
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if limit and len(ids) >= limit:
            raise ValueError(f"the prompt has {len(ids)} tokens; this model takes at most {limit} "
                             "(max_position_embeddings): shorten the conversation")
        return ids

    # ---------------------------------------------------------------- generation

    def chat(self, messages, system: str | None = None, tools=None, **gen) -> list[Response]:
        """`n` replies (default 1) to one conversation."""
        return self.batch_generate([messages], system=system, tools=tools, **gen)[0]

    def batch_generate(self, conversations: list, system: str | None = None, tools=None, **gen) -> list[list[Response]]:
        """Replies to several conversations in one left-padded batch; `n` replies each."""
        settings = self.settings(gen)
        prompts = [self.prompt(c, system, tools, settings.enable_thinking) for c in conversations]
        return self.generate_prompts(prompts, settings, parse_tools=bool(tools))

    def generate_prompts(self, prompts: list[str], settings: Settings, *, parse_tools: bool = False) -> list[list[Response]]:
        encoded = [self.encode(p) for p in prompts]
        g = settings.generation
        kwargs = g.to_generate_kwargs()
        copies = settings.n
        if settings.n > 1 and (g.do_sample or g.num_beams > 1):
            kwargs["num_return_sequences"], copies = settings.n, 1
        per_prompt = kwargs.get("num_return_sequences", 1)
        stops = self.stop_strings + settings.stop
        input_ids, attention_mask = _left_pad(encoded, self.pad_id, self.model.device)
        with torch.inference_mode():
            out = self.model.generate(input_ids=input_ids, attention_mask=attention_mask, **kwargs,
                                      **self._stopping(stops, input_ids.shape[1], None))
        new_tokens = out[:, input_ids.shape[1]:].tolist()
        results = []
        for b, (prompt, ids) in enumerate(zip(prompts, encoded, strict=True)):
            in_reasoning = prompt_opens_reasoning(self.template, prompt)
            replies = [self._finish_row(new_tokens[b * per_prompt + j], len(ids), g, stops, parse_tools, in_reasoning)
                       for j in range(per_prompt)]
            # greedy decoding gives the same reply every time: n copies of one generation
            results.append([dataclasses.replace(r) for r in replies for _ in range(copies)])
        return results

    def _stopping(self, stops: list[str], prompt_len: int, cancel: threading.Event | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"eos_token_id": self.eos_ids, "pad_token_id": self.pad_id}
        if stops or cancel is not None:
            kwargs["stopping_criteria"] = StoppingCriteriaList(
                [StopOnText(self.tokenizer, stops, prompt_len, cancel)])
        return kwargs

    def _finish_row(self, ids: list[int], prompt_tokens: int, g: GeneratingArguments, stops: list[str],
                    parse_tools: bool, in_reasoning: bool) -> Response:
        eos = set(self.eos_ids)
        end = next((i for i, t in enumerate(ids) if t in eos), None)
        if end is not None:
            finish, count = "stop", end + 1
        else:
            end = len(ids)
            while end and ids[end - 1] == self.pad_id:  # rows that stopped on a stop string are padded
                end -= 1
            finish, count = None, end
        text = self.tokenizer.decode(ids[:end], skip_special_tokens=g.skip_special_tokens)
        hits = [i for i in (text.find(s) for s in stops) if i >= 0]
        if hits:
            text, finish = text[: min(hits)], "stop"
        if finish is None:
            finish = "length" if count >= g.max_new_tokens else "stop"
        return build_response(self.template, text, finish_reason=finish, prompt_tokens=prompt_tokens,
                              completion_tokens=count, parse_tools=parse_tools, in_reasoning=in_reasoning)

    # ---------------------------------------------------------------- streaming

    def stream_chat(self, messages, system: str | None = None, tools=None, **gen) -> ChatStream:
        """Text deltas of one reply (stop strings removed), generated in a background thread. Iterate it;
        afterwards it holds finish_reason and token counts. Closing it early stops the generation."""
        settings = self.settings(gen)
        return self.stream_prompt(self.prompt(messages, system, tools, settings.enable_thinking), settings)

    def stream_prompt(self, prompt: str, settings: Settings) -> ChatStream:
        if settings.n != 1 or settings.generation.num_beams != 1:
            raise ValueError("streaming generates one sequence: use n=1 and num_beams=1")
        return ChatStream(self, prompt, settings)


class ChatStream:
    """An iterator of text deltas with the reply's metadata, set once the iteration ends."""

    def __init__(self, engine: HuggingfaceEngine, prompt: str, settings: Settings) -> None:
        self.engine, self.prompt, self.settings = engine, prompt, settings
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.finish_reason: str | None = None
        self.in_reasoning = prompt_opens_reasoning(engine.template, prompt)
        self._cancel = threading.Event()
        self._iter = self._run()

    def __iter__(self) -> ChatStream:
        return self

    def __next__(self) -> str:
        return next(self._iter)

    def close(self) -> None:
        self._cancel.set()
        self._iter.close()

    def splitter(self) -> ReasoningSplitter:
        """A splitter for these deltas: reasoning vs answer, with this prompt's thinking state."""
        open_tag, close_tag = thinking_tags(self.engine.template)
        return ReasoningSplitter(open_tag, close_tag, in_reasoning=self.in_reasoning)

    def _run(self) -> Iterator[str]:
        engine, g = self.engine, self.settings.generation
        ids = engine.encode(self.prompt)
        self.prompt_tokens = len(ids)
        stops = engine.stop_strings + self.settings.stop
        input_ids, attention_mask = _left_pad([ids], engine.pad_id, engine.model.device)
        streamer = CountingStreamer(engine.tokenizer, set(engine.eos_ids), skip_prompt=True,
                                     skip_special_tokens=g.skip_special_tokens)
        kwargs = dict(input_ids=input_ids, attention_mask=attention_mask, streamer=streamer,
                      **g.to_generate_kwargs(), **engine._stopping(stops, input_ids.shape[1], self._cancel))
        failure: list[BaseException] = []

        def generate() -> None:
            try:
                with torch.inference_mode():
                    engine.model.generate(**kwargs)
            except BaseException as e:  # surfaced in the consumer's thread
                failure.append(e)
                streamer.end()  # unblocks the consumer

        thread = threading.Thread(target=generate, name="lmforge-generate", daemon=True)
        thread.start()
        stop_filter = StopFilter(stops)
        try:
            for piece in streamer:
                text = stop_filter.feed(piece)
                if text:
                    yield text
                if stop_filter.stopped:
                    self._cancel.set()
                    break
            tail = stop_filter.flush()
            if tail:
                yield tail
            thread.join()
            if failure:
                raise failure[0]
        finally:
            self._cancel.set()
            thread.join()
            self.completion_tokens = streamer.count
        if stop_filter.stopped or streamer.hit_eos:
            self.finish_reason = "stop"
        else:
            self.finish_reason = "length" if streamer.count >= g.max_new_tokens else "stop"


# ---------------------------------------------------------------------------------------------------------
# helpers


class StopOnText(StoppingCriteria):
    """A stopping criterion: a row stops once a stop string appears in its generated text, and every row
    stops when `cancel` is set (a streaming client went away). Decodes only the last few tokens per step."""

    def __init__(self, tokenizer, stops: list[str], prompt_len: int, cancel: threading.Event | None) -> None:
        self.tokenizer, self.stops, self.prompt_len, self.cancel = tokenizer, stops, prompt_len, cancel
        self.window = max((len(s) for s in stops), default=0) + 2

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.Tensor:
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        if self.cancel is not None and self.cancel.is_set():
            return ~done
        if not self.stops:
            return done
        start = max(self.prompt_len, input_ids.shape[1] - self.window)
        tails = self.tokenizer.batch_decode(input_ids[:, start:], skip_special_tokens=False)
        for i, tail in enumerate(tails):
            done[i] = any(s in tail for s in self.stops)
        return done


class CountingStreamer(TextIteratorStreamer):
    """TextIteratorStreamer that counts generated tokens and keeps eos tokens out of the text."""

    def __init__(self, tokenizer, eos_ids: set[int], **kwargs) -> None:
        super().__init__(tokenizer, **kwargs)
        self.eos_ids, self.count, self.hit_eos = eos_ids, 0, False

    def put(self, value) -> None:
        if self.skip_prompt and self.next_tokens_are_prompt:
            self.next_tokens_are_prompt = False
            return
        ids = value.flatten().tolist()
        self.count += len(ids)
        kept = [t for t in ids if t not in self.eos_ids]
        self.hit_eos = self.hit_eos or len(kept) < len(ids)
        if kept:
            super().put(torch.tensor(kept))


def _left_pad(rows: list[list[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        if r:
            ids[i, width - len(r):] = torch.tensor(r)
            mask[i, width - len(r):] = 1
    return ids.to(device), mask.to(device)


# ---------------------------------------------------------------------------------------------------------
# loading


def load_inference_tokenizer(cfg: Config):
    """The tokenizer training saved with the last adapter (its chat_template, any added tokens), else the
    model's own."""
    from transformers import AutoConfig

    from lmforge.models.loader import load_tokenizer, resolve_model_path

    margs = cfg.model
    source = margs.model_name_or_path
    for adapter in reversed(margs.adapter_name_or_path or []):
        folder = Path(adapter) / (margs.adapter_folder or "")
        if (folder / "tokenizer_config.json").is_file():
            source = str(folder)
            break
    if source == margs.model_name_or_path:
        return load_tokenizer(margs)
    tokenizer = load_tokenizer(dataclasses.replace(margs, model_name_or_path=source, model_revision="main"))
    config = AutoConfig.from_pretrained(resolve_model_path(margs.model_name_or_path, margs),
                                        cache_dir=margs.cache_dir, revision=margs.model_revision,
                                        token=margs.hf_hub_token, trust_remote_code=margs.trust_remote_code)
    if len(tokenizer) > getattr(config, "vocab_size", len(tokenizer)):
        margs.resize_vocab = True  # training added tokens: the embeddings grow as they did in training
    return tokenizer


def inference_dtype(cfg: Config) -> torch.dtype:
    """infer_dtype, or with `auto`: float32 on CPU; on a GPU bfloat16 where supported, else float16."""
    name = cfg.model.infer_dtype
    if name != "auto":
        return getattr(torch, name)
    if not torch.cuda.is_available():
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def with_dtype(cfg: Config, dtype: torch.dtype) -> Config:
    """A copy of cfg whose precision flags make the model loader load in `dtype`."""
    training = copy.copy(cfg.training)
    training.bf16, training.fp16 = dtype == torch.bfloat16, dtype == torch.float16
    finetuning = dataclasses.replace(cfg.finetuning, pure_bf16=False)
    return dataclasses.replace(cfg, training=training, finetuning=finetuning)


ENGINES: dict[str, Callable[[Config], Any]] = {"huggingface": HuggingfaceEngine.from_config}


def load_engine(cfg: Config):
    backend = cfg.model.infer_backend
    if backend not in ENGINES:
        raise ConfigError(f"infer_backend: {backend} is not implemented yet; use infer_backend: huggingface")
    return ENGINES[backend](cfg)
