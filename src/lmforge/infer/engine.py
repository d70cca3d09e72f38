"""The Hugging Face chat engine, and `load_engine`, which picks the engine `infer_backend` names.

`HuggingfaceEngine` runs transformers' `generate` on the model lmforge trains: the base model with the
adapters of `adapter_name_or_path` merged in memory, or a merged / fully fine-tuned model. Prompts are
rendered by the same Template training used (with `template` unset, the chat_template saved in the
checkpoint), so inference sees exactly what training saw. What is not about transformers (settings, prompts,
stops, decoding, reasoning and tool-call parsing) is in `lmforge.infer.base`, shared with the vLLM engine.

Generation stops at an eos token (the model's, the tokenizer's, and every template stop word that is one
token) or at a stop string (multi-token template stop words and the caller's `stop`), whichever comes first.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import torch
from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

from lmforge.config import Config, GeneratingArguments
from lmforge.errors import ConfigError
from lmforge.infer.base import (
    ChatEngine,
    Completion,
    Settings,
    Stream,
    inference_dtype,
    load_inference_tokenizer,
    stream_decoding,
)
from lmforge.models.batching import left_pad

log = logging.getLogger(__name__)


@dataclasses.dataclass(eq=False)
class _Call:
    """One complete_ids call waiting for the engine."""

    prompts: list[list[int]]
    settings: Settings
    done: bool = False
    result: list[list[Completion]] | None = None
    error: BaseException | None = None


class HuggingfaceEngine(ChatEngine):
    """transformers' generate, one generation at a time. Calls that arrive from other threads while one runs
    (the API server's concurrent requests) wait for it, then go together as one batched `generate` when their
    settings are equal (measured on the CPU: 4.3x the throughput of eight concurrent generates, docs/inference.md).
    Streams take their turn too, unbatched."""

    name = "huggingface"
    max_model_len_key = "max_position_embeddings"
    max_concurrent = 8  # `lmforge api`'s default MAX_CONCURRENT: concurrent requests are batched
    max_batch = 16  # prompts of one batched generate call

    def __init__(self, model, tokenizer, template, *, generation: GeneratingArguments | None = None,
                 default_system: str | None = None, enable_thinking: bool | None = True) -> None:
        self.model = model
        model_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
        super().__init__(tokenizer, template, generation=generation, default_system=default_system,
                         enable_thinking=enable_thinking, model_eos=model_eos)
        self.max_model_len = getattr(model.config, "max_position_embeddings", None)
        self._turn = threading.Lock()  # one generate at a time: batches and streams take turns
        self._queue_lock = threading.Lock()
        self._waiting: list[_Call] = []
        self.generate_calls = 0  # batched generate calls run (each serves one or more complete_ids calls)

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

    # ---------------------------------------------------------------- generation

    def complete_ids(self, prompts: list[list[int]], settings: Settings) -> list[list[Completion]]:
        """The completions of `prompts`, generated together with the other calls waiting for the engine that
        have the same settings (up to max_batch prompts); whichever waiting thread gets the turn runs them."""
        call = _Call(prompts, settings)
        with self._queue_lock:
            self._waiting.append(call)
        with self._turn:
            if not call.done:
                self._run_waiting(call)
        if call.error is not None:
            raise call.error
        return call.result

    def _run_waiting(self, call: _Call) -> None:
        with self._queue_lock:
            batch, size = [call], len(call.prompts)
            for other in self._waiting:
                fits = size + len(other.prompts) <= self.max_batch
                if other is not call and other.settings == call.settings and fits:
                    batch.append(other)
                    size += len(other.prompts)
            for c in batch:
                self._waiting.remove(c)
        try:
            rows = self._generate([p for c in batch for p in c.prompts], call.settings)
            start = 0
            for c in batch:
                c.result, start = rows[start:start + len(c.prompts)], start + len(c.prompts)
        except BaseException as e:  # every caller of the batch sees the failure
            for c in batch:
                c.error = e
        finally:
            for c in batch:
                c.done = True
        if len(batch) > 1:
            log.info("generated %d requests (%d prompts) in one batch", len(batch), size)

    def _generate(self, prompts: list[list[int]], settings: Settings) -> list[list[Completion]]:
        """One left-padded `generate` call for all prompts; `n` sequences each."""
        self.generate_calls += 1
        g = settings.generation
        kwargs = g.to_generate_kwargs()
        copies = settings.n
        if settings.n > 1 and (g.do_sample or g.num_beams > 1):
            kwargs["num_return_sequences"], copies = settings.n, 1
        per_prompt = kwargs.get("num_return_sequences", 1)
        stops = self.stop_strings + settings.stop
        input_ids, attention_mask = left_pad(prompts, self.pad_id, self.model.device)
        with torch.inference_mode():
            out = self.model.generate(input_ids=input_ids, attention_mask=attention_mask, **kwargs,
                                      **self._stopping(stops, input_ids.shape[1], None))
        new_tokens = out[:, input_ids.shape[1]:].tolist()
        results = []
        for b, ids in enumerate(prompts):
            rows = [self.finish(self._unpad(new_tokens[b * per_prompt + j]), len(ids), settings)
                    for j in range(per_prompt)]
            # greedy decoding gives the same reply every time: n copies of one generation
            results.append([dataclasses.replace(c) for c in rows for _ in range(copies)])
        return results

    def _unpad(self, row: list[int]) -> list[int]:
        """A generated row without the padding after it: rows that stopped on a stop string (or, with an
        eos, are cut there by `finish`) are padded to the batch's length."""
        if any(t in self.eos_ids for t in row):
            return row
        end = len(row)
        while end and row[end - 1] == self.pad_id:
            end -= 1
        return row[:end]

    def _stopping(self, stops: list[str], prompt_len: int, cancel: threading.Event | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"eos_token_id": self.eos_ids, "pad_token_id": self.pad_id}
        if stops or cancel is not None:
            kwargs["stopping_criteria"] = StoppingCriteriaList(
                [StopOnText(self.tokenizer, stops, prompt_len, cancel)])
        return kwargs

    # ---------------------------------------------------------------- streaming

    def stream_ids(self, prompt: str, ids: list[int], settings: Settings) -> ChatStream:
        return ChatStream(self, prompt, ids, settings)


class ChatStream(Stream):
    """Deltas of `generate` running in a background thread, through a TextIteratorStreamer."""

    engine: HuggingfaceEngine

    def __init__(self, engine: HuggingfaceEngine, prompt: str, ids: list[int], settings: Settings) -> None:
        self._stop_event = threading.Event()
        super().__init__(engine, prompt, ids, settings)

    def _cancel(self) -> None:
        self._stop_event.set()

    def _deltas(self) -> Iterator[str]:
        engine, g = self.engine, self.settings.generation
        stops = engine.stop_strings + self.settings.stop
        input_ids, attention_mask = left_pad([self.ids], engine.pad_id, engine.model.device)
        streamer = CountingStreamer(engine.tokenizer, set(engine.eos_ids), skip_prompt=True,
                                     skip_special_tokens=g.skip_special_tokens, keep=engine.marker_ids)
        kwargs = dict(input_ids=input_ids, attention_mask=attention_mask, streamer=streamer,
                      **g.to_generate_kwargs(), **engine._stopping(stops, input_ids.shape[1], self._stop_event))
        failure: list[BaseException] = []

        def generate() -> None:
            try:
                with engine._turn, torch.inference_mode():  # after the batch or stream before it
                    engine.model.generate(**kwargs)
            except BaseException as e:  # surfaced in the consumer's thread
                failure.append(e)
                streamer.end()  # unblocks the consumer

        thread = threading.Thread(target=generate, name="lmforge-generate", daemon=True)
        thread.start()
        try:
            yield from streamer
            thread.join()
            if failure:
                raise failure[0]
        finally:
            self._stop_event.set()
            thread.join()
            self.completion_tokens, self.hit_eos = streamer.count, streamer.hit_eos


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
    """TextIteratorStreamer that counts generated tokens and keeps eos tokens out of the text. Special tokens
    in `keep` (tool-call markers) are decoded even where skip_special_tokens drops the others, as
    `decode_reply` does."""

    def __init__(self, tokenizer, eos_ids: set[int], *, skip_special_tokens: bool = False,
                 keep: set[int] = frozenset(), **kwargs) -> None:
        self.dropped, skip = stream_decoding(tokenizer, skip_special_tokens, set(keep))
        super().__init__(tokenizer, skip_special_tokens=skip, **kwargs)
        self.eos_ids, self.count, self.hit_eos = eos_ids, 0, False

    def put(self, value) -> None:
        if self.skip_prompt and self.next_tokens_are_prompt:
            self.next_tokens_are_prompt = False
            return
        ids = value.flatten().tolist()
        self.count += len(ids)
        kept = [t for t in ids if t not in self.eos_ids]
        self.hit_eos = self.hit_eos or len(kept) < len(ids)
        kept = [t for t in kept if t not in self.dropped]
        if kept:
            super().put(torch.tensor(kept))


# ---------------------------------------------------------------------------------------------------------
# loading


def with_dtype(cfg: Config, dtype: torch.dtype) -> Config:
    """A copy of cfg whose precision flags make the model loader load in `dtype`."""
    training = copy.copy(cfg.training)
    training.bf16, training.fp16 = dtype == torch.bfloat16, dtype == torch.float16
    finetuning = dataclasses.replace(cfg.finetuning, pure_bf16=False)
    return dataclasses.replace(cfg, training=training, finetuning=finetuning)


# ---------------------------------------------------------------------------------------------------------
# choosing the engine


def _vllm_engine(cfg: Config):
    from lmforge.infer.vllm_engine import VllmEngine

    return VllmEngine.from_config(cfg)


ENGINES: dict[str, Callable[[Config], Any]] = {"huggingface": HuggingfaceEngine.from_config, "vllm": _vllm_engine}


def load_engine(cfg: Config):
    backend = cfg.model.infer_backend
    if backend not in ENGINES:
        raise ConfigError(f"infer_backend: {backend} is not implemented yet; use infer_backend: huggingface "
                          "or vllm")
    return ENGINES[backend](cfg)
