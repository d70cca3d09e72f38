"""The vLLM engine against the Hugging Face engine on the same tiny float32 model: greedy decoding is
deterministic, so both must generate the same token ids and give the same replies (text, finish reason,
token counts), batched, streamed, with stops, and with a LoRA adapter that vLLM applies unmerged while the
HF engine merges it."""

import json
import shutil

import pytest
from transformers import AutoTokenizer
from vllm_helpers import MAX_NEW_TOKENS, VLLM, config

from lmforge.errors import ConfigError
from lmforge.infer.engine import load_engine

HI = [{"role": "user", "content": "Hello, who are you?"}]
CONVERSATIONS = [
    HI,
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "A much longer question, so "
                                                                                  "that the prompts differ?"}],
    [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"},
     {"role": "user", "content": "Tell me more."}],
    [{"role": "user", "content": "2+2?"}],
]
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def prompts_of(engine, conversations):
    return [engine.encode(engine.prompt(c)) for c in conversations]


def one_by_one(engine, prompts, settings):
    return [engine.complete_ids([p], settings)[0] for p in prompts]


def test_greedy_tokens_equal_the_hf_engine(hf, vllm_engine):
    prompts = prompts_of(hf, CONVERSATIONS)
    assert prompts_of(vllm_engine, CONVERSATIONS) == prompts  # the same template, tokenizer and ids
    settings = hf.settings({})
    expected = one_by_one(hf, prompts, settings)
    got = vllm_engine.complete_ids(prompts, settings)  # all at once: vLLM batches them
    for (e,), (g,) in zip(expected, got, strict=True):
        assert g.token_ids == e.token_ids
        assert (g.text, g.finish_reason, g.prompt_tokens) == (e.text, e.finish_reason, e.prompt_tokens)
    # the comparison means something: varied replies, different per prompt
    assert all(len(set(e.token_ids)) > 5 for (e,) in expected)
    assert len({tuple(e.token_ids) for (e,) in expected}) == len(CONVERSATIONS)


def test_chat_and_batch_replies_equal_the_hf_engine(hf, vllm_engine):
    assert vllm_engine.chat(HI) == hf.chat(HI)
    assert vllm_engine.batch_generate(CONVERSATIONS) == hf.batch_generate(CONVERSATIONS)
    # tools are rendered into the prompt (the tiny model writes no call; the parse path runs)
    assert vllm_engine.chat(HI, tools=[WEATHER]) == hf.chat(HI, tools=[WEATHER])
    assert vllm_engine.chat(HI, tools=[WEATHER]) != vllm_engine.chat(HI)
    assert vllm_engine.chat(HI, n=2) == hf.chat(HI) * 2  # greedy: one generation, copied


def test_stream_deltas_join_to_the_reply(hf, vllm_engine):
    (expected,) = hf.chat(HI)
    stream = vllm_engine.stream_chat(HI)
    deltas = list(stream)
    assert len(deltas) > 1  # streamed piece by piece
    assert "".join(deltas) == expected.text
    assert (stream.finish_reason, stream.prompt_tokens, stream.completion_tokens) == \
        (expected.finish_reason, expected.prompt_tokens, expected.completion_tokens)


def test_closing_a_stream_aborts_the_request(vllm_engine, hf):
    (whole,) = vllm_engine.chat(HI, max_new_tokens=200)
    assert (whole.completion_tokens, whole.finish_reason) == (200, "length")  # left alone, it writes 200
    stream = vllm_engine.stream_chat(HI, max_new_tokens=200)
    next(stream)
    stream.close()  # returns once vLLM has ended the request; the tokens it generated until then count
    assert 1 <= stream.completion_tokens < 100 and stream.finish_reason is None
    assert vllm_engine.chat(HI) == hf.chat(HI)  # the engine serves on


def test_stop_strings_and_eos_tokens_end_the_reply_as_in_the_hf_engine(hf, vllm_engine):
    (full,) = hf.chat(HI)
    stop = full.text.strip()[3:6]
    assert stop.strip(), "the tiny model wrote only whitespace"
    (expected,) = hf.chat(HI, stop=[stop])
    assert expected.finish_reason == "stop" and expected.completion_tokens < MAX_NEW_TOKENS
    assert vllm_engine.chat(HI, stop=[stop]) == [expected]
    stream = vllm_engine.stream_chat(HI, stop=stop)
    assert "".join(stream) == expected.text and stream.finish_reason == "stop"
    assert stream.completion_tokens == expected.completion_tokens

    # an eos id (as a template's one-token stop word becomes one): a token the reply writes, first at k
    ((reference,),) = hf.complete_ids(prompts_of(hf, [HI]), hf.settings({}))
    ids = reference.token_ids
    k = next(i for i in range(3, len(ids)) if ids[i] not in ids[:i])
    saved = hf.eos_ids, vllm_engine.eos_ids
    try:
        hf.eos_ids, vllm_engine.eos_ids = hf.eos_ids + [ids[k]], vllm_engine.eos_ids + [ids[k]]
        (e,) = hf.chat(HI)
        assert e.completion_tokens == k + 1 and e.finish_reason == "stop"  # the eos counts, its text does not
        assert vllm_engine.chat(HI) == [e]
        stream = vllm_engine.stream_chat(HI)
        assert "".join(stream) == e.text and (stream.finish_reason, stream.completion_tokens) == ("stop", k + 1)
    finally:
        hf.eos_ids, vllm_engine.eos_ids = saved


def test_length_limit_sampling_and_settings(vllm_engine):
    (r,) = vllm_engine.chat(HI, max_new_tokens=3)
    assert (r.completion_tokens, r.finish_reason) == (3, "length")
    sampled = vllm_engine.chat(HI, n=3, do_sample=True, temperature=1.5, top_p=1.0, top_k=0, max_new_tokens=12)
    assert len(sampled) == 3 and len({s.text for s in sampled}) > 1
    with pytest.raises(ValueError, match="does not do beam search"):
        vllm_engine.chat(HI, num_beams=2)
    with pytest.raises(ValueError, match=r"this model takes at most 1024 \(vllm_maxlen\)"):
        vllm_engine.chat([{"role": "user", "content": "hello " * 1100}])
    with pytest.raises(ValueError, match="streaming generates one sequence"):
        vllm_engine.stream_chat(HI, n=2)


def test_lora_adapter_served_unmerged_equals_the_merged_hf_engine(hf_lora, vllm_lora, vllm_engine):
    assert vllm_lora.lora_request is not None and vllm_engine.lora_request is None
    prompts = prompts_of(hf_lora, CONVERSATIONS)
    settings = hf_lora.settings({})
    expected = one_by_one(hf_lora, prompts, settings)
    got = vllm_lora.complete_ids(prompts, settings)
    assert [g.token_ids for (g,) in got] == [e.token_ids for (e,) in expected]
    assert [g.text for (g,) in got] == [e.text for (e,) in expected]
    base = vllm_engine.complete_ids(prompts, settings)
    assert all(b.token_ids != g.token_ids for (b,), (g,) in zip(base, got, strict=True))  # the adapter matters
    stream = vllm_lora.stream_chat(HI)
    assert "".join(stream) == hf_lora.chat(HI)[0].text


def test_configs_vllm_cannot_serve_are_config_errors(model_dir, adapter_dir, tmp_path):
    """Checked before vLLM starts, with the key to change."""
    two = f"{adapter_dir},{adapter_dir}"
    dora, grown = tmp_path / "dora", tmp_path / "grown"
    shutil.copytree(adapter_dir, dora)
    (dora / "adapter_config.json").write_text(json.dumps(
        {**json.loads((adapter_dir / "adapter_config.json").read_text()), "use_dora": True}))
    shutil.copytree(adapter_dir, grown)
    tokenizer = AutoTokenizer.from_pretrained(adapter_dir)
    tokenizer.add_tokens(["<new_token>"])  # as training with add_tokens saves it
    tokenizer.save_pretrained(grown)
    cases = [({"adapter_name_or_path": two}, "serves one adapter"),
             ({"adapter_name_or_path": str(dora)}, "is a DoRA adapter"),
             ({"adapter_name_or_path": str(grown)}, r"more than the base model's vocabulary \(151669"),
             ({"adapter_name_or_path": str(adapter_dir), "vllm_max_lora_rank": 4}, "set vllm_max_lora_rank to at least 8"),
             ({"num_beams": 2}, "does not do beam search"),
             ({"vllm_config": {"kv_cache_memory_bytes": 1 << 28, "no_such_arg": 1}}, "unknown vLLM engine argument 'no_such_arg'")]
    for keys, words in cases:
        with pytest.raises(ConfigError, match=words):
            load_engine(config(model_dir, **{**VLLM, **keys}))
