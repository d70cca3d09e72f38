"""Xiaomi MiMo-V2-Flash (`mimo_v2`); MiMo-7B (`mimo`) is Qwen2.5's template, in qwen.py.

The official template, mirrored here: ChatML turns with no newline between them; the system turn is always
written (the default "You are MiMo, ..." only when there is no system prompt) and lists the tools as XML
`<function>` blocks; a reply is `<think>{reasoning}</think>{answer}` after the last user message when it has
reasoning, `<think></think>{answer}` otherwise, then its calls (`<tool_call>\\n<function={name}>\\n<parameter={key}>
{value}</parameter>\\n...</function>\\n</tool_call>`, back to back); tool results share a `tool` turn. Thinking is
off unless enable_thinking is true: the generation prompt then ends with `<think></think>`, which is prompt in
the final reply.
"""

from __future__ import annotations

import re
from typing import Any

from lmforge.data.conversation import ToolCall
from lmforge.templates.core import Ctx, Template, Thinking, _Out, register
from lmforge.templates.tools import ToolFormat, json_or_text, tojson

MIMO_SYSTEM = "You are MiMo, a helpful AI assistant engineered by Xiaomi."
_FORMAT_NOTE = (
    "\n\nFor each function call, output the function name and arguments in the following format:\n<tool_call>\n"
    "<function=example_function_name>\n<parameter=example_parameter_1>value_1</parameter>\n"
    "<parameter=example_parameter_2>This is the value for the second parameter\nthat can span\nmultiple lines"
    "</parameter>\n</function>\n</tool_call>\n\n<IMPORTANT>\n- Function calls MUST follow the specified format: an "
    "inner <function=...></function> block must be nested within <tool_call></tool_call> XML tags\n- DO NOT use "
    "function calls inside <think></think> tags.\n- The value enclosed between parameter tags is preserved exactly "
    "as-is, including newlines and spaces.\n</IMPORTANT>"
)


def _value(v: Any) -> str:
    """jinja's rendering in the official template: objects and lists as JSON, anything else as Python's str."""
    return tojson(v) if isinstance(v, (dict, list)) else str(v)


def _extra(spec: dict, handled: tuple[str, ...]) -> str:
    return "".join(f"\n<{k}>{_value(v)}</{k}>" for k, v in spec.items() if k not in handled)


class MiMoV2Tools(ToolFormat):
    name = "mimo_v2"
    _CALL = re.compile(r"<tool_call>\s*<function=([^>\n]+)>\n?(.*?)</function>\s*</tool_call>", re.DOTALL)
    _PARAM = re.compile(r"<parameter=([^>\n]+)>(.*?)</parameter>", re.DOTALL)

    def tools_text(self, tools):
        out = "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou have access to the following functions:\n\n<tools>"
        for tool in tools:
            fn = tool.get("function", tool)
            out += f"\n<function>\n<name>{fn['name']}</name>"
            if "description" in fn:
                out += f"\n<description>{fn['description'].strip()}</description>"
            out += "\n<parameters>"
            params = fn.get("parameters")
            if isinstance(params, dict) and isinstance(params.get("properties"), dict):
                for name, spec in params["properties"].items():
                    out += f"\n<parameter>\n<name>{name}</name>"
                    if "type" in spec:
                        out += f"\n<type>{_value(spec['type'])}</type>"
                    if "description" in spec:
                        out += f"\n<description>{spec['description'].strip()}</description>"
                    out += _extra(spec, ("name", "type", "description")) + "\n</parameter>"
            if isinstance(params, dict):
                out += _extra(params, ("type", "properties"))
            out += (
                "\n</parameters>"
                + _extra(fn, ("type", "name", "description", "parameters"))
                + "\n</function>"
            )
        return out + "\n</tools>" + _FORMAT_NOTE

    def calls_text(self, calls, ids):
        return "".join(
            f"<tool_call>\n<function={c.name}>\n"
            + "".join(f"<parameter={k}>{_value(v)}</parameter>\n" for k, v in c.arguments.items())
            + "</function>\n</tool_call>"
            for c in calls
        )

    def parse(self, text):
        calls: list[ToolCall] = []


        def take(match: re.Match) -> str:
            args = {k.strip(): json_or_text(v) for k, v in self._PARAM.findall(match.group(2))}
            calls.append(ToolCall(match.group(1).strip(), args))
            return ""

        content = self._CALL.sub(take, text)
        return (content.strip() if calls else text), calls


class MiMoV2(Template):
    def render(self, conv, *, add_generation_prompt=False, enable_thinking=True):
        # enable_thinking=None is the official template's default: off
        return super().render(
            conv, add_generation_prompt=add_generation_prompt, enable_thinking=bool(enable_thinking)
        )

    def system_text(self, ctx: Ctx) -> str:
        system = MIMO_SYSTEM if ctx.system is None else ctx.system
        return system + (self.tool_format.tools_text(ctx.tools) if ctx.tools else "")

    def render_assistant(self, out: _Out, ctx: Ctx, i: int) -> None:
        m = ctx.messages[i]
        content, reasoning = m.content, m.reasoning
        if reasoning is None:
            reasoning = ""
            if "</think>" in content:
                reasoning = content.split("</think>")[0].split("<think>")[-1]
                content = content.split("</think>")[-1]
        last_user = max((j for j, x in enumerate(ctx.messages) if x.role == "user"), default=-1)
        think = f"<think>{reasoning}</think>" if i > last_user and reasoning else "<think></think>"
        calls = self.tool_format.calls_text(m.tool_calls, []) if m.tool_calls else ""
        out.prompt(self.assistant)
        if i == len(ctx.messages) - 1 and not ctx.thinking and think == "<think></think>":
            out.prompt(think)  # the thinking-off generation prompt ends with this block
            think = ""
        out.reply(think + content + calls + self.end_of_turn)

    def render_tool(self, out: _Out, ctx: Ctx, i: int) -> None:
        head = "<|im_start|>tool\n" if ctx.prev_role(i) not in (None, "tool") else ""
        tail = "<|im_end|>" if ctx.next_role(i) != "tool" else ""
        out.prompt(f"{head}<tool_response>\n{ctx.messages[i].content}\n</tool_response>\n{tail}")

    def render_generation_prompt(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.assistant + ("" if ctx.thinking else "<think></think>"))


register(
    MiMoV2(
        "mimo_v2",
        system="<|im_start|>system\n{content}<|im_end|>",
        user="<|im_start|>user\n{content}<|im_end|>",
        assistant="<|im_start|>assistant\n",
        end_of_turn="<|im_end|>",
        stop_words=["<|im_end|>"],
        special_tokens=("<|im_start|>", "<|im_end|>"),
        thinking=Thinking(),
        tool_format=MiMoV2Tools(),
        official="mimo-v2-flash.jinja",
    )
)
