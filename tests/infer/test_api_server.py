"""`lmforge api` started as a user starts it, on 127.0.0.1 and a free port, driven by the official `openai`
client. With greedy decoding the served text must equal the engine's own output for the same messages."""

import json
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from infer_helpers import api_server, healthy
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from transformers import AutoTokenizer

from lmforge.infer.api import Chunks, buffered_chunks, completion_body
from lmforge.infer.base import build_response
from lmforge.templates import get_template

KEY = "sk-lmforge-test"
MODEL = "tiny-qwen3"
HI = [{"role": "user", "content": "Hello, who are you?"}]
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


@pytest.fixture(scope="module")
def server(greedy_args, tmp_path_factory):
    env = {"API_KEY": KEY, "API_MODEL_NAME": MODEL, "MAX_CONCURRENT": "4"}
    with api_server(greedy_args, tmp_path_factory.mktemp("api") / "api.log", env) as server:
        yield server


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url, api_key=KEY, max_retries=0, timeout=120)


def test_models(client):
    assert [m.id for m in client.models.list().data] == [MODEL]
    assert client.models.retrieve(MODEL).id == MODEL
    with pytest.raises(openai.NotFoundError) as e:
        client.models.retrieve("gpt-4o")
    assert "does not exist" in e.value.body["message"]


def test_completion_equals_the_engine(client, engine):
    messages = [{"role": "system", "content": "You are terse."}] + HI
    (expected,) = engine.chat(messages)
    out = client.chat.completions.create(model=MODEL, messages=messages)
    (choice,) = out.choices
    assert choice.message.role == "assistant" and choice.message.content == expected.text
    assert choice.finish_reason == expected.finish_reason
    assert (out.usage.prompt_tokens, out.usage.completion_tokens) == (expected.prompt_tokens,
                                                                      expected.completion_tokens)
    assert out.usage.total_tokens == expected.prompt_tokens + expected.completion_tokens


def test_stream_equals_the_engine(client, engine):
    (expected,) = engine.chat(HI)
    chunks = list(client.chat.completions.create(model=MODEL, messages=HI, stream=True,
                                                 stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == expected.text
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1  # streamed in pieces
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == [expected.finish_reason]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == expected.completion_tokens


def test_max_tokens_stop_and_temperature_zero(client, engine):
    out = client.chat.completions.create(model=MODEL, messages=HI, max_tokens=3, temperature=0)
    assert out.usage.completion_tokens == 3 and out.choices[0].finish_reason == "length"
    (full,) = engine.chat(HI)
    stop = full.text.strip()[:3]
    out = client.chat.completions.create(model=MODEL, messages=HI, stop=[stop])
    assert out.choices[0].message.content == full.text[: full.text.find(stop)]
    assert out.choices[0].finish_reason == "stop"


def test_n_choices(client, engine):
    (expected,) = engine.chat(HI)
    out = client.chat.completions.create(model=MODEL, messages=HI, n=2)  # greedy: two equal choices
    assert [c.index for c in out.choices] == [0, 1]
    assert [c.message.content for c in out.choices] == [expected.text] * 2
    sampled = client.chat.completions.create(model=MODEL, messages=HI, n=3, temperature=1.5, top_p=1.0,
                                             max_tokens=6)
    assert [c.index for c in sampled.choices] == [0, 1, 2]
    assert 3 <= sampled.usage.completion_tokens <= 3 * 6  # summed over the choices
    streamed = list(client.chat.completions.create(model=MODEL, messages=HI, n=2, stream=True))
    assert {c.choices[0].index for c in streamed if c.choices} == {0, 1}


def test_tools_are_rendered_into_the_prompt(client, engine):
    """A random model writes no tool calls, so check that the tools reached the prompt: the prompt token
    count equals the engine's prompt with the tools, and the reply equals the engine's."""
    with_tools = engine.prompt(HI, tools=[WEATHER])
    assert "get_weather" in with_tools and "get_weather" not in engine.prompt(HI)
    (expected,) = engine.chat(HI, tools=[WEATHER])
    out = client.chat.completions.create(model=MODEL, messages=HI, tools=[WEATHER])
    assert out.usage.prompt_tokens == len(engine.encode(with_tools))
    assert out.choices[0].message.content == expected.text
    out = client.chat.completions.create(model=MODEL, messages=HI, tools=[WEATHER], tool_choice="none")
    assert out.usage.prompt_tokens == len(engine.encode(engine.prompt(HI)))
    # a history with a tool call and its result
    history = HI + [
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
            "name": "get_weather", "arguments": json.dumps({"city": "Paris"})}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21 C"}]
    out = client.chat.completions.create(model=MODEL, messages=history, tools=[WEATHER])
    engine_history = HI + [{"role": "assistant", "content": "",
                            "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
                           {"role": "tool", "content": "sunny, 21 C"}]
    prompt = engine.prompt(engine_history, tools=[WEATHER])
    assert "<tool_response>\nsunny, 21 C\n</tool_response>" in prompt
    assert out.usage.prompt_tokens == len(engine.encode(prompt))
    streamed = list(client.chat.completions.create(model=MODEL, messages=HI, tools=[WEATHER], stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == expected.text


def test_tool_call_response_shape(tokenizer_dir):
    """The response builder on a real template's parse: what the openai client reads as a tool call."""
    qwen3 = get_template("qwen3", AutoTokenizer.from_pretrained(tokenizer_dir("qwen3")))
    raw = ('<think>\nNeed the weather.\n</think>\n\n<tool_call>\n{"name": "get_weather", "arguments": '
           '{"city": "Paris"}}\n</tool_call>\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}'
           '\n</tool_call>')
    r = build_response(qwen3, raw, finish_reason="stop", prompt_tokens=20, completion_tokens=40, parse_tools=True)
    body = completion_body([r], MODEL)
    parsed = ChatCompletion.model_validate(body)
    (choice,) = parsed.choices
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    assert body["choices"][0]["message"]["reasoning_content"] == "Need the weather."
    calls = choice.message.tool_calls
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Oslo"})]
    assert len({c.id for c in calls}) == 2 and all(c.id.startswith("call-") for c in calls)
    chunks = [ChatCompletionChunk.model_validate(json.loads(c)) for c in buffered_chunks([r], Chunks(MODEL))]
    deltas = [c.choices[0].delta for c in chunks]
    assert deltas[0].role == "assistant"
    assert [t.function.name for d in deltas for t in d.tool_calls or []] == ["get_weather", "get_weather"]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_thinking_model_returns_reasoning_content(r1_dir, tmp_path):
    """A thinking model served: reasoning in message.reasoning_content, streamed as reasoning_content deltas."""
    args = [f"model_name_or_path={r1_dir}", "do_sample=false", "max_new_tokens=6"]
    with api_server(args, tmp_path / "r1.log") as server:
        body = {"model": "any", "messages": HI}
        url = f"{server.url}/chat/completions"
        message = httpx.post(url, json=body, timeout=60).json()["choices"][0]["message"]
        assert message["reasoning_content"] and message["content"] == ""
        with httpx.stream("POST", url, json={**body, "stream": True}, timeout=60) as response:
            events = [json.loads(line[6:]) for line in response.iter_lines()
                      if line.startswith("data: ") and line != "data: [DONE]"]
        reasoning = "".join(e["choices"][0]["delta"].get("reasoning_content", "") for e in events if e["choices"])
        assert reasoning == message["reasoning_content"]


def test_concurrent_requests_are_all_answered(client, engine, server):
    (expected,) = engine.chat(HI)
    latencies = []

    def ask(i):
        return client.chat.completions.create(model=MODEL, messages=HI).choices[0].message.content

    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(ask, i) for i in range(16)]
        while not all(f.done() for f in futures):  # the event loop answers while generation runs
            start = time.perf_counter()
            assert healthy(server)
            latencies.append(time.perf_counter() - start)
        answers = [f.result() for f in futures]
    assert answers == [expected.text] * 16
    assert max(latencies, default=0) < 2.0
    # requests that came in while a generation ran were batched (MAX_CONCURRENT=4: up to 4 at a time)
    assert re.search(r"generated [234] requests \(\d+ prompts\) in one batch", server.log.read_text())


def test_wrong_or_missing_key_is_401(server):
    for key in ("wrong-key", ""):
        bad = openai.OpenAI(base_url=server.url, api_key=key or "x", max_retries=0,
                            default_headers={} if key else {"Authorization": ""})
        with pytest.raises(openai.AuthenticationError) as e:
            bad.chat.completions.create(model=MODEL, messages=HI)
        assert e.value.status_code == 401
        assert e.value.body["code"] == "invalid_api_key" and "API_KEY" in e.value.body["message"]
    r = httpx.get(f"{server.url}/models", timeout=10)
    assert r.status_code == 401 and r.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("body, status, words", [
    (b'{"model": "m", "messages": [', 400, "not valid JSON"),
    ({"model": "m"}, 422, "messages: Field required"),
    ({"messages": []}, 422, "messages: List should have at least 1 item"),
    ({"messages": [{"role": "robot", "content": "hi"}]}, 422, "messages[0].role"),
    ({"messages": HI, "temperature": 5}, 422, "temperature"),
    ({"messages": HI, "n": 0}, 422, "n: Input should be greater than or equal to 1"),
    ({"messages": HI + [{"role": "assistant", "content": "x"}]}, 400, "last message must be a user or tool"),
    ({"messages": HI + [{"role": "system", "content": "late"}]}, 400, "must come before"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "/etc/passwd"}}]}]},
     400, "a local path is not accepted"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {
        "url": "http://169.254.169.254/latest/meta-data"}}]}]}, 400, "private, loopback or reserved"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": "what is this?"}, {
        "type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}]}, 400, "text-only"),
    ({"messages": HI + [{"role": "assistant", "content": None, "tool_calls": [{"type": "function", "function": {
        "name": "f", "arguments": "{not json"}}]}, {"role": "tool", "content": "r"}]}, 400, "not valid JSON"),
    ({"messages": HI, "logprobs": True}, 400, "logprobs are not supported"),
    ({"messages": [{"role": "user", "content": "hello " * 5000}]}, 400, "this model takes at most 4096"),
])
def test_malformed_requests_get_openai_style_errors(server, body, status, words):
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = httpx.post(f"{server.url}/chat/completions", content=content, headers=headers, timeout=60)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert words in error["message"], error["message"]


def test_unknown_route_is_404_and_the_server_stays_healthy(server, client, engine):
    r = httpx.post(f"{server.url}/score/evaluation", json={}, headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 404 and "unknown route" in r.json()["error"]["message"]
    # a stream the client abandons after its first chunk does not wedge the server
    stream = client.chat.completions.create(model=MODEL, messages=HI, stream=True, max_tokens=64)
    next(iter(stream))
    stream.close()
    assert healthy(server)
    (expected,) = engine.chat(HI)
    assert client.chat.completions.create(model=MODEL, messages=HI).choices[0].message.content == expected.text


# ---------------------------------------------------------------------------------------------------------
# reply length: capped at the context the prompt leaves and at API_MAX_TOKENS

CONTEXT, SERVER_MAX = 48, 20


@pytest.fixture(scope="module")
def short_context_server(qwen3_dir, tmp_path_factory):
    """The tiny model with a 48-token context (max_position_embeddings), served with API_MAX_TOKENS=20."""
    model = tmp_path_factory.mktemp("short-context")
    for f in qwen3_dir.iterdir():
        if f.is_file():
            shutil.copy(f, model / f.name)
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, "max_position_embeddings": CONTEXT}))
    args = [f"model_name_or_path={model}", "do_sample=false", "max_new_tokens=1000"]
    env = {"API_KEY": KEY, "API_MODEL_NAME": MODEL, "API_MAX_TOKENS": str(SERVER_MAX)}
    with api_server(args, tmp_path_factory.mktemp("api-short") / "api.log", env) as server:
        yield server


def test_max_tokens_is_capped_by_the_server_and_by_the_context(short_context_server):
    client = openai.OpenAI(base_url=short_context_server.url, api_key=KEY, max_retries=0, timeout=120)
    out = client.chat.completions.create(model=MODEL, messages=HI, max_tokens=5000)  # API_MAX_TOKENS applies
    assert out.usage.prompt_tokens + SERVER_MAX < CONTEXT
    assert out.usage.completion_tokens == SERVER_MAX and out.choices[0].finish_reason == "length"
    assert client.chat.completions.create(model=MODEL, messages=HI, max_tokens=3).usage.completion_tokens == 3

    long = [{"role": "user", "content": "Please tell me a long story about a cat, a dog, a small red fox and an old owl who live in a quiet wood."}]
    out = client.chat.completions.create(model=MODEL, messages=long, max_tokens=5000)  # the context applies
    room = CONTEXT - out.usage.prompt_tokens
    assert 0 < room < SERVER_MAX
    assert out.usage.completion_tokens == room and out.choices[0].finish_reason == "length"
    assert out.usage.total_tokens == CONTEXT
    chunks = list(client.chat.completions.create(model=MODEL, messages=long, max_tokens=5000, stream=True,
                                                 stream_options={"include_usage": True}))
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["length"] and chunks[-1].usage.completion_tokens == room

    with pytest.raises(openai.BadRequestError) as e:  # a prompt that fills the context
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hello " * CONTEXT}])
    assert f"this model takes at most {CONTEXT} (max_position_embeddings)" in e.value.body["message"]
