"""Tool calls whose marker is a special token (Mistral's [TOOL_CALLS]) survive decoding: replies are decoded with
special tokens skipped, which would drop the marker and leave the parser nothing to find. The tiny model is made
to write a given reply by a logits processor (real `generate`, real decoding, real parsing)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from fixtures.models import TOKENIZERS
from transformers import LogitsProcessor, LogitsProcessorList

from lmforge.infer.engine import HuggingfaceEngine

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
CALLS = ('[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "abcdef123"}, '
         '{"name": "get_weather", "arguments": {"city": "Oslo", "days": [1, 2]}, "id": "abcdef124"}]')


class ForceReply(LogitsProcessor):
    """Every row writes `reply` (token ids), then eos."""

    def __init__(self, reply: list[int], eos: int, prompt_len: int) -> None:
        self.reply, self.eos, self.prompt_len = reply, eos, prompt_len

    def __call__(self, input_ids, scores):
        step = input_ids.shape[1] - self.prompt_len
        token = self.reply[step] if step < len(self.reply) else self.eos
        forced = torch.full_like(scores, float("-inf"))
        forced[:, token] = 0.0
        return forced


class ForcedEngine(HuggingfaceEngine):
    reply: list[int] = []

    def _stopping(self, stops, prompt_len, cancel):
        kwargs = super()._stopping(stops, prompt_len, cancel)
        kwargs["logits_processor"] = LogitsProcessorList(
            [ForceReply(self.reply, self.tokenizer.eos_token_id, prompt_len)])
        return kwargs


@pytest.fixture(scope="module")
def mistral_engine(tiny_model, tmp_path_factory):
    """The tiny Qwen3 weights (their vocabulary covers Mistral's ids) with Mistral's v3 tokenizer."""
    from lmforge.config import load_config, parse_argv
    from lmforge.infer.engine import load_engine

    out = tmp_path_factory.mktemp("tiny-mistral")
    qwen3 = tiny_model("qwen3")
    for name in ("config.json", "generation_config.json", "model.safetensors"):
        shutil.copy(qwen3 / name, out / name)
    for f in (TOKENIZERS / "mistral").iterdir():
        if f.is_file():
            shutil.copy(f, out / f.name)
    args = [f"model_name_or_path={out}", "template=mistral", "do_sample=false", "max_new_tokens=80"]
    loaded = load_engine(load_config(parse_argv(args), command="chat"))
    engine = ForcedEngine(loaded.model, loaded.tokenizer, loaded.template, generation=loaded.generation)
    engine.reply = loaded.tokenizer.encode(CALLS, add_special_tokens=False)
    assert engine.reply[0] == loaded.tokenizer.convert_tokens_to_ids("[TOOL_CALLS]")  # a special token
    return engine


def test_engine_parses_calls_behind_a_special_token(mistral_engine):
    (r,) = mistral_engine.chat([{"role": "user", "content": "Weather in Paris and Oslo?"}], tools=[WEATHER])
    assert r.finish_reason == "tool_calls" and r.text == ""
    assert [(c.name, c.arguments) for c in r.tool_calls] == [
        ("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Oslo", "days": [1, 2]})]


def test_stream_keeps_the_marker_and_its_text_parses(mistral_engine):
    stream = mistral_engine.stream_chat([{"role": "user", "content": "Weather in Paris and Oslo?"}], tools=[WEATHER])
    text = "".join(stream)
    assert stream.finish_reason == "stop" and text.startswith("[TOOL_CALLS]"), text
    answer, calls = mistral_engine.template.parse_tool_calls(text)
    assert answer == "" and [(c.name, c.arguments) for c in calls] == [
        ("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Oslo", "days": [1, 2]})]


def test_stream_still_skips_other_special_tokens(mistral_engine):
    """Special tokens that are no marker are dropped from the stream as before ([INST] here)."""
    tok = mistral_engine.tokenizer
    reply = mistral_engine.reply
    mistral_engine.reply = tok.encode("[INST] hi", add_special_tokens=False) + reply
    try:
        text = "".join(mistral_engine.stream_chat([{"role": "user", "content": "hi"}], tools=[WEATHER]))
    finally:
        mistral_engine.reply = reply
    assert "[INST]" not in text and "[TOOL_CALLS]" in text, text


def test_special_tokens_other_than_markers_are_still_skipped(mistral_engine):
    tok = mistral_engine.tokenizer
    ids = tok.encode("[INST] hi", add_special_tokens=False) + mistral_engine.reply
    settings = mistral_engine.settings({})
    text = mistral_engine.finish(ids + [tok.eos_token_id], 3, settings).text
    assert text.startswith(" hi[TOOL_CALLS]") or text.startswith("hi[TOOL_CALLS]"), text
    assert "[INST]" not in text


@pytest.mark.parametrize("stream", [False, True])
def test_api_returns_the_calls(mistral_engine, stream):
    from fastapi.testclient import TestClient

    from lmforge.infer.api import create_app

    body = {"model": "m", "messages": [{"role": "user", "content": "Weather?"}], "tools": [WEATHER],
            "stream": stream}
    with TestClient(create_app(mistral_engine)) as client:
        response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    if stream:
        chunks = [json.loads(line[5:]) for line in response.text.splitlines()
                  if line.startswith("data:") and line.strip() != "data: [DONE]"]
        calls = [t["function"] for c in chunks for t in c["choices"][0]["delta"].get("tool_calls") or []]
        assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    else:
        (choice,) = response.json()["choices"]
        assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
        calls = [t["function"] for t in choice["message"]["tool_calls"]]
    assert [(c["name"], json.loads(c["arguments"])) for c in calls] == [
        ("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Oslo", "days": [1, 2]})]


def test_vllm_delta_decoder_keeps_the_marker(mistral_engine):
    """The vllm stream's decoder (fed ids as vLLM hands them over) keeps the same markers."""
    from lmforge.infer.base import DeltaDecoder

    tok = mistral_engine.tokenizer
    ids = tok.encode("[INST]", add_special_tokens=False) + mistral_engine.reply + [tok.eos_token_id]
    decoder = DeltaDecoder(tok, {tok.eos_token_id}, True, mistral_engine.marker_ids)
    text = "".join(decoder.feed(ids[i:i + 3]) for i in range(0, len(ids), 3)) + decoder.flush()
    assert decoder.hit_eos and text == CALLS, text
