"""Formats with no official chat template anywhere we could find (families/lf_formats.py): the rendering equals
LLaMA-Factory's format strings (src/llamafactory/data/template.py, written out here by hand), for a two-turn
conversation with a system prompt, without one (the default system prompt), and as a generation prompt.
`breeze` and `index` are LLaMA-Factory `efficient_eos` formats: it writes eos once at the end of a sample, we
after every reply (documented), so their two-turn strings have eos after the first reply too."""

import pytest
from template_cases import A, U, family_tokenizer, joined

from lmforge.data.conversation import Conversation
from lmforge.templates import get_template

E = "<|endoftext|>"  # bos and eos of the test tokenizer
TWO_TURNS = [U("Q1"), A("R1"), U("Q2"), A("R2")]
DE = "Du bist ein freundlicher und hilfsbereiter KI-Assistent."
SAILOR = (
    "You are an AI assistant named Sailor created by Sea AI Lab. "
    "Your answer should be friendly, unbiased, faithful, informative and detailed."
)
TELE = "你是中国电信星辰语义大模型，英文名是TeleChat，你是由中电信人工智能科技有限公司和中国电信人工智能研究院（TeleAI）研发的人工智能助手。"
XUAN = (
    "以下是用户和人工智能助手之间的对话。用户以Human开头，人工智能助手以Assistant开头，会对人类提出的问题给出有帮助、"
    "高质量、详细和礼貌的回答，并且总是拒绝参与与不道德、不安全、有争议、政治敏感等相关的话题、问题和指示。\n"
)
ERNIE = "<global_setting>\nthink_mode=True\n</global_setting>"

# name -> (system slot, user slot, assistant slot, prefix, default system): LLaMA-Factory's strings; the user slot
# ends with the generation prompt, as in LLaMA-Factory
LF = {
    "starchat": ("<|system|>\n{s}<|end|>\n", "<|user|>\n{u}<|end|>\n<|assistant|>", "{a}<|end|>\n", "", None),
    "chatml_de": (
        "<|im_start|>system\n{s}<|im_end|>\n",
        "<|im_start|>user\n{u}<|im_end|>\n<|im_start|>assistant\n",
        "{a}<|im_end|>\n",
        "",
        DE,
    ),
    "sailor": (
        "<|im_start|>system\n{s}<|im_end|>\n",
        "<|im_start|>question\n{u}<|im_end|>\n<|im_start|>answer\n",
        "{a}<|im_end|>\n",
        "",
        SAILOR,
    ),
    "opencoder": (
        "<|im_start|>system\n{s}<|im_end|>\n",
        "<|im_start|>user\n{u}<|im_end|>\n<|im_start|>assistant\n",
        "{a}<|im_end|>\n",
        "",
        "You are OpenCoder, created by OpenCoder Team.",
    ),
    "telechat2": ("<_system>{s}", "<_user>{u}<_bot>", "{a}" + E, "", TELE),
    "breeze": ("{s}", "[INST] {u} [/INST] ", "{a}" + E, E, None),
    "index": ("<unk>{s}", "reserved_0{u}reserved_1", "{a}" + E, "", None),
    "xuanyuan": ("{s}", "Human: {u} Assistant:", "{a}" + E, "", XUAN),
    "ernie": (
        "<|im_start|>system\n{s}<|im_end|>\n\n",
        "<|im_start|>user\n{u}<|im_end|>\n\n<|im_start|>assistant\n",
        "{a}<|im_end|>\n\n",
        "",
        ERNIE,
    ),
}


ZH = "You are a helpful assistant. 你是一个乐于助人的助手。"


def test_llama2_zh_renders_llamafactory_format():
    """LLaMA-Factory's Llama2Template: the system slot `<<SYS>>\n{s}\n<</SYS>>\n\n` opens the first user message,
    each user message is `{bos}[INST] {u} [/INST]`, each answer `{a}{eos}`."""
    template = get_template("llama2_zh", family_tokenizer("llama2_zh"))
    first = f"{E}[INST] <<SYS>>\n{ZH}\n<</SYS>>\n\nQ1 [/INST]"
    assert joined(template.render(Conversation(TWO_TURNS))) == f"{first}R1{E}{E}[INST] Q2 [/INST]R2{E}"
    assert template.render_prompt(Conversation([U("Q1")], system="S")) == (
        f"{E}[INST] <<SYS>>\nS\n<</SYS>>\n\nQ1 [/INST]"
    )


def lf_render(name: str, system: str | None, turns: list[tuple[str, str | None]]) -> str:
    system_slot, user_slot, assistant_slot, prefix, default = LF[name]
    system = default if system is None else system
    text = prefix + (system_slot.format(s=system) if system else "")
    for user, answer in turns:
        text += user_slot.format(u=user) + ("" if answer is None else assistant_slot.format(a=answer))
    return text


@pytest.mark.parametrize("name", list(LF))
@pytest.mark.parametrize("system", ["S", None])
def test_renders_llamafactory_format(name, system):
    template = get_template(name, family_tokenizer(name))
    two = joined(template.render(Conversation(TWO_TURNS, system=system)))
    assert two == lf_render(name, system, [("Q1", "R1"), ("Q2", "R2")])
    prompt = template.render_prompt(Conversation([U("Q1")], system=system))
    assert prompt == lf_render(name, system, [("Q1", None)])
    # the trained text is each answer and its end-of-turn token
    trained = [s.text for s in template.render(Conversation(TWO_TURNS, system=system)) if s.trainable]
    assert [t.rstrip("\n") for t in trained] == [LF[name][2].format(a=a).rstrip("\n") for a in ("R1", "R2")]
