"""Encoding on real tokenizers, checked against independently computed expectations: the official chat
template's text (tokenizer.apply_chat_template) for the ids, and the assistant texts themselves for the
labelled spans."""

import pytest

from lmforge.data.conversation import Conversation, Message, ToolCall
from lmforge.data.encoding import (
    IGNORE_INDEX,
    EncodeSettings,
    PretrainBlocks,
    Tokens,
    _tokenize_each,
    encode_batch,
    encode_kto,
    encode_pairwise,
    encode_pretrain,
    encode_supervised,
    encode_unsupervised,
    infer_seqlen,
    tokenize_segments,
    truncate_positions,
)
from lmforge.data.formats import dump_conversation
from lmforge.templates import Segment

THINK = "<think>\n\n</think>\n\n"  # Qwen3's official template writes this block into the final reply


def official_ids(tok, conv, **kw):
    text = tok.apply_chat_template(conv.to_openai(), tools=conv.tools, tokenize=False, **kw)
    return tok(text, add_special_tokens=False)["input_ids"]


def loss_runs(tok, ids, labels):
    """The decoded text of each maximal run of tokens that carry loss."""
    runs, current = [], []
    for token, label in zip(ids, labels, strict=True):
        if label != IGNORE_INDEX:
            assert label == token  # labels are the input ids themselves where loss is taken
            current.append(token)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return [tok.decode(r) for r in runs]


TWO_TURNS = Conversation([Message("user", "What is 2+2?"), Message("assistant", "2+2 is 4."),
                          Message("user", "And 3+3?"), Message("assistant", "3+3 is 6.")],
                         system="You are a calculator.")

TOOL_CONV = Conversation(
    [Message("user", "Weather in Paris?"),
     Message("assistant", "", tool_calls=[ToolCall("get_weather", {"city": "Paris"})]),
     Message("tool", '{"temperature": 21}'),
     Message("assistant", "It is 21 degrees.")],
    tools=[{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
                                             "parameters": {"type": "object",
                                                            "properties": {"city": {"type": "string"}}}}}])


# ------------------------------------------------------------------------------------------------ tokens


def test_straddling_token_belongs_to_the_segment_it_starts_in(tokenizer_dir):
    from transformers import AutoTokenizer

    gpt2 = AutoTokenizer.from_pretrained(tokenizer_dir("gpt2"))
    assert gpt2("Hello world")["input_ids"] == [15496, 995]  # "Hello", " world"
    # "Hello" straddles "Hel" (prompt) | "lo world" (reply): it starts in the prompt, so no loss
    t = tokenize_segments([Segment("Hel", False, 0), Segment("lo world", True, 0)], gpt2)
    assert t.ids == [15496, 995] and t.trainable == [False, True]
    # " world" straddles "Hello wor" (reply) | "ld" (prompt): it starts in the reply, so it carries loss
    t = tokenize_segments([Segment("Hello wor", True, 0), Segment("ld", False, 1)], gpt2)
    assert t.trainable == [True, True] and t.turn == [0, 0]
    # the per-segment fallback (tokenizers without offsets) never straddles
    t = _tokenize_each([Segment("Hel", False, 0), Segment("lo world", True, 0)], gpt2)
    assert t.ids == gpt2("Hel")["input_ids"] + gpt2("lo world")["input_ids"] and t.trainable[-1]


def test_supervised_qwen3_matches_official_template(qwen3_tok, qwen3_tpl):
    out = encode_supervised(TWO_TURNS, qwen3_tpl, qwen3_tok, cutoff_len=1024)
    assert out["input_ids"] == official_ids(qwen3_tok, TWO_TURNS)
    assert out["attention_mask"] == [1] * len(out["input_ids"])
    # every assistant reply and its end-of-turn token carry loss, nothing else
    assert loss_runs(qwen3_tok, out["input_ids"], out["labels"]) == ["2+2 is 4.<|im_end|>",
                                                                     THINK + "3+3 is 6.<|im_end|>"]
    assert out["_truncated"] is False


def test_supervised_tool_calls_are_trained_tool_results_are_not(qwen3_tok, qwen3_tpl):
    out = encode_supervised(TOOL_CONV, qwen3_tpl, qwen3_tok, cutoff_len=1024)
    assert out["input_ids"] == official_ids(qwen3_tok, TOOL_CONV)
    assert loss_runs(qwen3_tok, out["input_ids"], out["labels"]) == [
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>',
        THINK + "It is 21 degrees.<|im_end|>"]


def test_supervised_registered_template_and_thinking_off(qwen3_tok):
    from lmforge.templates import get_template

    tpl = get_template("qwen3", qwen3_tok)
    on = encode_supervised(TWO_TURNS, tpl, qwen3_tok, cutoff_len=1024)
    assert on["input_ids"] == official_ids(qwen3_tok, TWO_TURNS)
    off = encode_supervised(TWO_TURNS, tpl, qwen3_tok, cutoff_len=1024, enable_thinking=False)
    # thinking off: the empty think block is part of the generation prompt, so it carries no loss
    assert loss_runs(qwen3_tok, off["input_ids"], off["labels"])[-1] == "3+3 is 6.<|im_end|>"


def test_llama3_bos_appears_once(tokenizer_dir):
    from transformers import AutoTokenizer

    from lmforge.templates import get_template

    tok = AutoTokenizer.from_pretrained(tokenizer_dir("llama3"))
    tpl = get_template(None, tok)
    conv = Conversation([Message("user", "Hi"), Message("assistant", "Hello!")])
    out = encode_supervised(conv, tpl, tok, cutoff_len=1024)
    assert out["input_ids"] == official_ids(tok, conv)
    assert out["input_ids"].count(tok.bos_token_id) == 1 and out["input_ids"][0] == tok.bos_token_id
    assert loss_runs(tok, out["input_ids"], out["labels"]) == ["Hello!<|eot_id|>"]


def test_train_on_prompt_labels_every_token(qwen3_tok, qwen3_tpl):
    out = encode_supervised(TWO_TURNS, qwen3_tpl, qwen3_tok, cutoff_len=1024, train_on_prompt=True)
    assert out["labels"] == out["input_ids"]


def test_mask_history_trains_the_last_turn_only(qwen3_tok, qwen3_tpl):
    out = encode_supervised(TWO_TURNS, qwen3_tpl, qwen3_tok, cutoff_len=1024, mask_history=True)
    assert out["input_ids"] == official_ids(qwen3_tok, TWO_TURNS)
    assert loss_runs(qwen3_tok, out["input_ids"], out["labels"]) == [THINK + "3+3 is 6.<|im_end|>"]


# ------------------------------------------------------------------------------------------------ truncation


@pytest.mark.parametrize("source, target, cutoff, expected", [
    (20, 3, 10, (7, 3)),  # short target: kept whole, the source takes the rest
    (3, 20, 10, (3, 7)),  # short source: kept whole, the target takes the rest
    (10, 10, 8, (4, 4)),  # both long: shared in proportion
    (30, 10, 8, (6, 2)),
    (5, 5, 10, (5, 5)),  # fits exactly
    (0, 12, 5, (0, 5)),
])
def test_infer_seqlen_rule(source, target, cutoff, expected):
    assert infer_seqlen(source, target, cutoff) == expected


def _tokens(*turns):
    """Tokens from (source_len, target_len) per turn; ids are positions."""
    trainable, turn = [], []
    for t, (s, g) in enumerate(turns):
        trainable += [False] * s + [True] * g
        turn += [t] * (s + g)
    return Tokens(list(range(len(turn))), trainable, turn)


def test_truncation_is_per_turn_oldest_first():
    tokens = _tokens((5, 5), (5, 5))
    assert truncate_positions(tokens, 20) == list(range(20))
    # turn 0 fits (10 of 14); turn 1 gets the last 4: 2 prompt + 2 reply tokens, each cut at its end
    assert truncate_positions(tokens, 14) == list(range(10)) + [10, 11, 15, 16]
    # mask_history visits the newest turn first: turn 1 whole, turn 0 gets 4
    assert truncate_positions(tokens, 14, newest_first=True) == [0, 1, 5, 6] + list(range(10, 20))
    # no budget left: later turns are dropped
    assert truncate_positions(_tokens((8, 8), (2, 2)), 12) == list(range(6)) + [8, 9, 10, 11, 12, 13]


def test_supervised_truncation_keeps_the_rule_on_real_text(qwen3_tok, qwen3_tpl):
    long_reply = " ".join(f"word{i}" for i in range(200))
    conv = Conversation([Message("user", "Count."), Message("assistant", long_reply),
                         Message("user", "Again?"), Message("assistant", "Yes.")])
    full = encode_supervised(conv, qwen3_tpl, qwen3_tok, cutoff_len=10_000)
    out = encode_supervised(conv, qwen3_tpl, qwen3_tok, cutoff_len=64)
    assert out["_truncated"] is True and len(out["input_ids"]) == 64
    # turn 0's prompt tokens (the header before the reply and the "\n" after its end-of-turn token) are few:
    # kept whole; its reply takes the rest of the 64 tokens, cut at its end; turn 1 gets nothing
    prompt_len = full["labels"].index(next(x for x in full["labels"] if x != IGNORE_INDEX))
    newline = qwen3_tok("\n", add_special_tokens=False)["input_ids"]
    assert out["input_ids"] == full["input_ids"][:63] + newline
    assert out["labels"][:prompt_len] == [IGNORE_INDEX] * prompt_len
    assert loss_runs(qwen3_tok, out["input_ids"], out["labels"])[0] == qwen3_tok.decode(full["input_ids"][prompt_len:63])
    assert loss_runs(qwen3_tok, out["input_ids"], out["labels"])[0].startswith("word0 word1")
    # with mask_history the last turn survives whole and is the only one trained
    masked = encode_supervised(conv, qwen3_tpl, qwen3_tok, cutoff_len=64, mask_history=True)
    assert len(masked["input_ids"]) == 64
    assert loss_runs(qwen3_tok, masked["input_ids"], masked["labels"]) == [THINK + "Yes.<|im_end|>"]
    last_turn = "<|im_start|>user\nAgain?<|im_end|>\n<|im_start|>assistant\n" + THINK + "Yes.<|im_end|>\n"
    assert qwen3_tok.decode(masked["input_ids"]).endswith(last_turn)
    assert qwen3_tok.decode(masked["input_ids"]).startswith("<|im_start|>user\nCount.")


# ------------------------------------------------------------------------------------------------ other stages


def test_pretrain_text_plus_eos_and_packing(qwen3_tok, tokenizer_dir):
    from transformers import AutoTokenizer

    texts = ["Hello world.", "A second, somewhat longer document about nothing."]
    docs = [qwen3_tok(t)["input_ids"] + [qwen3_tok.eos_token_id] for t in texts]
    out = encode_pretrain(texts, qwen3_tok, cutoff_len=1024, packing=False)
    assert out["input_ids"] == docs and out["labels"] == docs and out["_truncated"] == [False, False]
    cut = encode_pretrain(texts, qwen3_tok, cutoff_len=4, packing=False)
    assert cut["input_ids"] == [d[:4] for d in docs] and cut["_truncated"] == [False, True]
    whole = encode_pretrain(texts, qwen3_tok, cutoff_len=4, packing=True)  # blocks come later (PretrainBlocks)
    assert whole["input_ids"] == docs and whole["_truncated"] == [False, False]
    llama = AutoTokenizer.from_pretrained(tokenizer_dir("llama3"))  # adds <|begin_of_text|>
    out = encode_pretrain(["Hi"], llama, cutoff_len=16, packing=False)
    assert out["input_ids"] == [[llama.bos_token_id, *llama("Hi", add_special_tokens=False)["input_ids"],
                                 llama.eos_token_id]]


def test_pretrain_blocks_continue_across_batches_and_restart_with_a_new_pass():
    docs = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10], [11]]  # 11 tokens: two blocks of 4, 3 tokens dropped
    group = PretrainBlocks(cutoff_len=4)
    first = group({"input_ids": docs[:2]}, [0, 1])  # 5 tokens: one block, one token carried
    second = group({"input_ids": docs[2:]}, [2, 3])  # 1 carried + 6: one block, 3 left over
    assert first["input_ids"] == [[1, 2, 3, 4]] and second["input_ids"] == [[5, 6, 7, 8]]
    assert second["labels"] == second["input_ids"] and second["attention_mask"] == [[1] * 4]
    again = group({"input_ids": docs}, [0, 1, 2, 3])  # row 0 again (the next epoch of a stream): no carry
    assert again["input_ids"] == [[1, 2, 3, 4], [5, 6, 7, 8]]


def test_unsupervised_prompt_is_the_generation_prompt(qwen3_tok, qwen3_tpl):
    out = encode_unsupervised(TWO_TURNS, qwen3_tpl, qwen3_tok, cutoff_len=1024)
    prompt = Conversation(TWO_TURNS.messages[:-1], system=TWO_TURNS.system)
    assert out["input_ids"] == official_ids(qwen3_tok, prompt, add_generation_prompt=True)
    assert qwen3_tok.decode(out["labels"]) == THINK + "3+3 is 6.<|im_end|>"
    no_reply = encode_unsupervised(prompt, qwen3_tpl, qwen3_tok, cutoff_len=1024)
    assert no_reply["input_ids"] == out["input_ids"] and no_reply["labels"] == []


PAIR = Conversation([Message("user", "Is the sky blue?")], chosen=Message("assistant", "Yes, on a clear day."),
                    rejected=Message("assistant", "No."))


def test_pairwise_shares_the_prompt(qwen3_tok, qwen3_tpl):
    out = encode_pairwise(PAIR, qwen3_tpl, qwen3_tok, cutoff_len=1024)
    prompt = official_ids(qwen3_tok, Conversation(PAIR.messages), add_generation_prompt=True)
    for side, reply in (("chosen", "Yes, on a clear day."), ("rejected", "No.")):
        ids, labels = out[f"{side}_input_ids"], out[f"{side}_labels"]
        assert ids == official_ids(qwen3_tok, Conversation([*PAIR.messages, Message("assistant", reply)]))
        assert ids[:len(prompt)] == prompt and labels[:len(prompt)] == [IGNORE_INDEX] * len(prompt)
        assert loss_runs(qwen3_tok, ids, labels) == [THINK + reply + "<|im_end|>"]
        assert out[f"{side}_attention_mask"] == [1] * len(ids)


def test_pairwise_truncation_keeps_both_sides_aligned(qwen3_tok, qwen3_tpl):
    long_prompt = Conversation([Message("user", " ".join(["blue"] * 100))], chosen=PAIR.chosen,
                               rejected=PAIR.rejected)
    full = encode_pairwise(long_prompt, qwen3_tpl, qwen3_tok, cutoff_len=10_000)
    out = encode_pairwise(long_prompt, qwen3_tpl, qwen3_tok, cutoff_len=32)
    assert out["_truncated"]
    first_loss = {side: next(i for i, x in enumerate(out[f"{side}_labels"]) if x != IGNORE_INDEX)
                  for side in ("chosen", "rejected")}
    assert first_loss["chosen"] == first_loss["rejected"]  # same prompt length on both sides
    n = first_loss["chosen"]
    assert out["chosen_input_ids"][:n] == out["rejected_input_ids"][:n] == full["chosen_input_ids"][:n]
    assert len(out["chosen_input_ids"]) <= 32 and len(out["rejected_input_ids"]) <= 32


def test_kto_pairs_each_prompt_with_the_next_rows_reply(qwen3_tok, qwen3_tpl):
    a = Conversation([Message("user", "Q-a"), Message("assistant", "R-a")], kto_tag=True)
    b = Conversation([Message("user", "Q-b"), Message("assistant", "R-b")], kto_tag=False)
    settings = EncodeSettings(kind="kto", cutoff_len=1024)
    out = encode_batch({"_conv": [dump_conversation(a), dump_conversation(b)]}, settings=settings,
                       tokenizer=qwen3_tok, template=qwen3_tpl)
    assert out["kto_tags"] == [True, False]
    assert out["input_ids"][0] == official_ids(qwen3_tok, a)
    assert out["kl_input_ids"][0] == official_ids(qwen3_tok, Conversation([a.messages[0], b.messages[1]]))
    assert out["kl_input_ids"][1] == official_ids(qwen3_tok, Conversation([b.messages[0], a.messages[1]]))
    assert loss_runs(qwen3_tok, out["kl_input_ids"][0], out["kl_labels"][0]) == [THINK + "R-b<|im_end|>"]
    single = encode_kto(a, b, qwen3_tpl, qwen3_tok, cutoff_len=1024)
    assert single["kl_labels"] == out["kl_labels"][0]


def test_encode_batch_applies_default_system_only_where_missing(qwen3_tok, qwen3_tpl):
    with_system = Conversation([Message("user", "Q"), Message("assistant", "A")], system="Own.")
    without = Conversation([Message("user", "Q"), Message("assistant", "A")])
    settings = EncodeSettings(kind="supervised", cutoff_len=1024, default_system="Default.")
    out = encode_batch({"_conv": [dump_conversation(with_system), dump_conversation(without)]},
                       settings=settings, tokenizer=qwen3_tok, template=qwen3_tpl)
    assert qwen3_tok.decode(out["input_ids"][0]).startswith("<|im_start|>system\nOwn.")
    assert qwen3_tok.decode(out["input_ids"][1]).startswith("<|im_start|>system\nDefault.")
    assert set(out) == {"input_ids", "attention_mask", "labels", "_truncated"}
