"""The chat engine on a real tiny Qwen3 model: greedy decoding is deterministic, so the streamed, batched
and single paths must agree token for token, and stops / counts / settings must be exact."""

import re

import pytest
import torch

from lmforge.config import load_config
from lmforge.errors import ConfigError
from lmforge.infer.base import resolve_settings
from lmforge.infer.engine import load_engine
from lmforge.infer.vllm_engine import vllm_installed

HI = [{"role": "user", "content": "Hello, who are you?"}]


def reference_generate(engine, messages):
    """Plain transformers greedy generation on the official chat template: what the engine must reproduce."""
    tok = engine.tokenizer
    ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = engine.model.generate(**ids, max_new_tokens=engine.generation.max_new_tokens, do_sample=False,
                                eos_token_id=engine.eos_ids, pad_token_id=engine.pad_id)
    new = out[0, ids["input_ids"].shape[1]:]
    return tok.decode(new, skip_special_tokens=True), ids["input_ids"].shape[1], len(new)


def test_chat_equals_plain_transformers_generation(engine):
    text, prompt_len, new_len = reference_generate(engine, HI)
    (r,) = engine.chat(HI)
    assert r.text == text and r.reasoning is None and r.tool_calls == []
    assert (r.prompt_tokens, r.completion_tokens) == (prompt_len, new_len)
    assert r.finish_reason == ("length" if new_len == engine.generation.max_new_tokens else "stop")


def test_stream_chat_deltas_join_to_the_chat_reply(engine):
    (r,) = engine.chat(HI)
    stream = engine.stream_chat(HI)
    deltas = list(stream)
    assert len(deltas) > 1  # it streamed, piece by piece
    assert "".join(deltas) == r.text
    assert (stream.finish_reason, stream.prompt_tokens, stream.completion_tokens) == \
        (r.finish_reason, r.prompt_tokens, r.completion_tokens)


def test_closing_a_stream_stops_the_generation(engine):
    stream = engine.stream_chat(HI, max_new_tokens=500)
    next(stream)
    stream.close()  # returns once the generation thread has ended
    assert stream.completion_tokens < 20 and stream.finish_reason is None


def test_batch_generate_equals_one_by_one(engine):
    conversations = [HI, [{"role": "user", "content": "A much longer question, so that padding is needed?"}],
                     [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"},
                      {"role": "user", "content": "Tell me more."}]]
    batched = engine.batch_generate(conversations)
    for conv, (b,) in zip(conversations, batched, strict=True):
        (single,) = engine.chat(conv)
        assert b == single


def test_concurrent_calls_are_batched_and_equal_one_by_one(engine):
    """Calls from other threads while the engine is busy go together in one generate call when their settings
    are equal; each still gets exactly its own (greedy) reply. Calls with other settings wait for a batch of
    their own."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    conversations = [HI, [{"role": "user", "content": "A much longer question, so that padding is needed?"}],
                     [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"},
                      {"role": "user", "content": "Tell me more."}]] * 2
    expected = [engine.chat(conv)[0] for conv in conversations]
    short = engine.chat(HI, max_new_tokens=3)[0]
    before = engine.generate_calls
    with ThreadPoolExecutor(len(conversations) + 1) as pool:
        with engine._turn:  # the engine is busy: every call below has to wait
            futures = [pool.submit(engine.chat, conv) for conv in conversations]
            other = pool.submit(engine.chat, HI, max_new_tokens=3)
            while len(engine._waiting) < len(conversations) + 1:
                threading.Event().wait(0.01)
        replies = [f.result()[0] for f in futures]
        assert other.result()[0] == short
    assert replies == expected
    assert engine.generate_calls - before == 2  # the six equal calls in one batch, the other alone


def test_system_prompt_and_default_system_reach_the_prompt(engine):
    assert "Be brief." in engine.prompt(HI, system="Be brief.")
    assert "Be brief." in engine.prompt([{"role": "system", "content": "Be brief."}] + HI)
    engine.default_system = "You are a test."
    try:
        assert "You are a test." in engine.prompt(HI)
        assert "You are a test." not in engine.prompt(HI, system="Other.")
    finally:
        engine.default_system = None


def test_stop_strings_cut_the_reply_streamed_or_not(engine):
    (full,) = engine.chat(HI, max_new_tokens=16)
    stop = full.text.strip()[:3]
    assert stop, "the tiny model wrote only whitespace"
    (r,) = engine.chat(HI, max_new_tokens=16, stop=[stop])
    assert r.text == full.text[: full.text.find(stop)]
    assert r.finish_reason == "stop" and r.completion_tokens < 16
    stream = engine.stream_chat(HI, max_new_tokens=16, stop=stop)
    assert "".join(stream) == r.text and stream.finish_reason == "stop"


def test_max_new_tokens_and_length_finish(engine):
    (r,) = engine.chat(HI, max_new_tokens=3)
    assert r.completion_tokens == 3 and r.finish_reason == "length"


def test_n_replies(engine):
    greedy = engine.chat(HI, n=3)
    assert len(greedy) == 3 and len({r.text for r in greedy}) == 1  # greedy: the same reply three times
    torch.manual_seed(0)
    sampled = engine.chat(HI, n=3, do_sample=True, temperature=1.5, top_p=1.0, top_k=0, max_new_tokens=12)
    assert len(sampled) == 3 and len({r.text for r in sampled}) > 1


def test_thinking_model_reasoning_is_split_off(r1_dir):
    cfg = load_config({"model_name_or_path": str(r1_dir), "do_sample": False, "max_new_tokens": 6}, command="chat")
    r1 = load_engine(cfg)
    assert r1.prompt(HI).endswith("<think>\n")
    (r,) = r1.chat(HI)
    assert r.reasoning and r.text == "" and r.finish_reason == "length"  # a random model never closes the block
    stream = r1.stream_chat(HI)
    splitter = stream.splitter()
    pieces = [p for d in stream for p in splitter.feed(d)] + splitter.flush()
    assert {kind for kind, _ in pieces} == {"reasoning"}
    assert "".join(t for _, t in pieces) == r.reasoning


def test_settings_are_validated_with_the_key_named(engine):
    g = engine.generation
    with pytest.raises(ValueError, match="unknown generation key 'temprature'"):
        resolve_settings(g, True, {"temprature": 0.5})
    with pytest.raises(ValueError, match="top_p"):
        resolve_settings(g, True, {"top_p": 0})
    with pytest.raises(ValueError, match="n: expected an integer >= 1"):
        resolve_settings(g, True, {"n": 0})
    s = resolve_settings(g, True, {"temperature": 0, "max_new_tokens": None})
    assert s.generation.do_sample is False and s.generation.max_new_tokens == g.max_new_tokens
    with pytest.raises(ValueError, match="streaming generates one sequence"):
        engine.stream_chat(HI, n=2)


def test_backends_that_cannot_run_are_config_errors(qwen3_dir):
    with pytest.raises(ConfigError, match="infer_backend: sglang is not implemented yet"):
        load_config({"model_name_or_path": str(qwen3_dir), "infer_backend": "sglang"}, command="chat")
    # vLLM is an optional extra (its own tests are tests/vllm, run in a virtualenv with it installed). Here
    # tests/ is on sys.path, so tests/vllm is importable as a namespace package `vllm`: not vLLM
    vllm = {"model_name_or_path": str(qwen3_dir), "infer_backend": "vllm"}
    predict = {**vllm, "do_predict": True, "predict_with_generate": True, "eval_dataset": "alpaca_en_demo"}
    for raw, command in ((vllm, "chat"), (vllm, "api"), (predict, "train")):
        if not vllm_installed():
            with pytest.raises(ConfigError, match=re.escape("needs the vllm package, which is not installed: "
                                                            "pip install 'lmforge[vllm]'")):
                load_config(raw, command=command)
        else:
            assert load_config(raw, command=command).model.infer_backend == "vllm"
    with pytest.raises(ConfigError, match="a reward model is served by the Hugging Face engine only"):
        load_config({**vllm, "stage": "rm"}, command="api")
    with pytest.raises(ConfigError, match="model_name_or_path is required for `lmforge api`"):
        load_config({}, command="api")
