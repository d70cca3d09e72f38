"""A jinja chat_template generated from a template's format strings, for formats that have no official one
(default, empty, alpaca, vicuna, baichuan2): saved with a checkpoint, it renders what training saw.
Tested: tokenizer.apply_chat_template(chat_template=to_jinja(t)) == t.render(...) text.
"""

from __future__ import annotations

import json

from lmforge.templates.core import Template


def _lit(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a valid jinja string literal


def _slot(fmt: str, expr: str) -> str:
    """`fmt` with {content} replaced by the jinja expression `expr`, as one jinja expression."""
    head, sep, tail = fmt.partition("{content}")
    parts = [_lit(head)] + ([expr, _lit(tail)] if sep else [])
    return " + ".join(p for p in parts if p != '""') or '""'


def to_jinja(t: Template) -> str:
    if type(t) is not Template:
        raise NotImplementedError(f"template {t.name!r} has custom rendering and ships its official template")

    def content(role: str) -> str:
        return "(message['content'] | trim)" if role in t.trim else "message['content']"

    default = "none" if t.default_system is None else _lit(t.default_system)
    reply = _slot(t.reply, content("assistant"))
    return "".join(
        [
            "{%- if messages and messages[0]['role'] == 'system' -%}",
            "{%- set system = messages[0]['content'] -%}{%- set loop_messages = messages[1:] -%}",
            "{%- else -%}",
            f"{{%- set system = {default} -%}}{{%- set loop_messages = messages -%}}",
            "{%- endif -%}",
            f"{{{{- {_lit(t.prefix)} -}}}}",
            f"{{%- if system is not none -%}}{{{{- {_slot(t.system, 'system')} -}}}}{{%- endif -%}}",
            "{%- for message in loop_messages -%}",
            "{%- if message['role'] == 'user' -%}",
            f"{{{{- {_slot(t.user, content('user'))} -}}}}",
            "{%- elif message['role'] == 'assistant' -%}",
            f"{{{{- {_lit(t.assistant)} + {reply} + {_lit(t.end_of_turn)} + {_lit(t.separator)} -}}}}",
            "{%- elif message['role'] == 'tool' -%}",
            f"{{{{- {_slot(t.tool, content('tool'))} -}}}}",
            "{%- endif -%}",
            "{%- endfor -%}",
            f"{{%- if add_generation_prompt -%}}{{{{- {_lit(t.assistant)} -}}}}",
            f"{{%- else -%}}{{{{- {_lit(t.suffix)} -}}}}{{%- endif -%}}",
        ]
    )
