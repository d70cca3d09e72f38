"""`lmforge api` with infer_backend: vllm, started as a user starts it and driven by the official openai
client: what it serves (plain, streamed, concurrent) must equal the Hugging Face engine's greedy replies."""

import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
from infer.infer_helpers import api_server, healthy
from vllm_helpers import MAX_NEW_TOKENS, VLLM_ARGS

KEY = "sk-lmforge-test"
MODEL = "tiny-qwen3-vllm"
HI = [{"role": "user", "content": "Hello, who are you?"}]


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):
    args = [f"model_name_or_path={model_dir}", "do_sample=false", f"max_new_tokens={MAX_NEW_TOKENS}", *VLLM_ARGS]
    log = tmp_path_factory.mktemp("api") / "api.log"
    with api_server(args, log, {"API_KEY": KEY, "API_MODEL_NAME": MODEL}, timeout=300) as server:
        yield server


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url, api_key=KEY, max_retries=0, timeout=120)


def test_completion_equals_the_hf_engine(client, hf, server):
    assert [m.id for m in client.models.list().data] == [MODEL]
    messages = [{"role": "system", "content": "You are terse."}] + HI
    (expected,) = hf.chat(messages)
    out = client.chat.completions.create(model=MODEL, messages=messages)
    (choice,) = out.choices
    assert choice.message.content == expected.text and choice.finish_reason == expected.finish_reason
    assert (out.usage.prompt_tokens, out.usage.completion_tokens) == (expected.prompt_tokens,
                                                                      expected.completion_tokens)
    assert "(vllm engine, MAX_CONCURRENT=64)" in server.log.read_text()  # it is vLLM that answered


def test_stream_equals_the_hf_engine(client, hf):
    (expected,) = hf.chat(HI)
    chunks = list(client.chat.completions.create(model=MODEL, messages=HI, stream=True,
                                                 stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1  # streamed in pieces
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == expected.text
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == [expected.finish_reason]
    assert chunks[-1].usage.completion_tokens == expected.completion_tokens


def test_max_tokens_stop_and_n(client, hf):
    out = client.chat.completions.create(model=MODEL, messages=HI, max_tokens=3, temperature=0)
    assert out.usage.completion_tokens == 3 and out.choices[0].finish_reason == "length"
    (full,) = hf.chat(HI)
    stop_at = full.text.strip()[3:6]
    out = client.chat.completions.create(model=MODEL, messages=HI, stop=[stop_at])
    assert out.choices[0].message.content == full.text[: full.text.find(stop_at)]
    assert out.choices[0].finish_reason == "stop"
    out = client.chat.completions.create(model=MODEL, messages=HI, n=2)
    assert [c.message.content for c in out.choices] == [full.text] * 2
    sampled = client.chat.completions.create(model=MODEL, messages=HI, n=3, temperature=1.5, top_p=1.0, max_tokens=6)
    assert [c.index for c in sampled.choices] == [0, 1, 2] and sampled.usage.completion_tokens == 18


def test_concurrent_requests_are_batched_and_all_answered(client, hf, server):
    """MAX_CONCURRENT is unset: with vLLM it defaults to 64, so 16 requests are in flight at once."""
    conversations = [[{"role": "user", "content": f"Question number {i}?"}] for i in range(16)]
    expected = [r.text for (r,) in hf.batch_generate(conversations)]

    def ask(i):
        if i % 2:  # half of them streamed
            stream = client.chat.completions.create(model=MODEL, messages=conversations[i], stream=True)
            return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        return client.chat.completions.create(model=MODEL, messages=conversations[i]).choices[0].message.content

    latencies = []
    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(ask, i) for i in range(16)]
        while not all(f.done() for f in futures):  # the server answers while it generates
            start = time.perf_counter()
            assert healthy(server)
            latencies.append(time.perf_counter() - start)
        answers = [f.result() for f in futures]
    assert answers == expected
    assert max(latencies, default=0) < 2.0


def test_abandoned_stream_and_errors(client, hf, server):
    stream = client.chat.completions.create(model=MODEL, messages=HI, stream=True, max_tokens=500)
    next(iter(stream))
    stream.close()
    assert healthy(server)
    with pytest.raises(openai.BadRequestError, match=r"at most 1024 \(vllm_maxlen\)"):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hello " * 1100}])
    (expected,) = hf.chat(HI)
    assert client.chat.completions.create(model=MODEL, messages=HI).choices[0].message.content == expected.text
