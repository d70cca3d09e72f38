"""OpenAI gpt-oss (`gpt_oss`: gpt-oss-20b, gpt-oss-120b): the harmony format, as its official chat template
renders it.

- `<|start|>system<|message|>` carries the model identity, "Knowledge cutoff: 2024-06", *today's* date (training
  text then carries the day it was rendered on, as the official template's output does), "Reasoning: medium"
  and the channel list; the conversation's system prompt goes into a developer message ("# Instructions"),
  followed by the tool list as a TypeScript namespace (`functions`);
- a reply is `<|start|>assistant<|channel|>final<|message|>{answer}<|end|>`; only the last reply of a training
  conversation keeps its reasoning (an analysis message before it, `Message.reasoning`) and ends with `<|return|>`,
  the token the model writes to stop. Earlier replies end with `<|end|>`, which the model never writes after a
  final answer (it also ends analysis messages, so it cannot be a stop word): that `<|end|>` is prompt here, so
  the model is not taught to write it where it must stop;
- a tool call is its own message, `<|start|>assistant to=functions.{name}<|channel|>commentary json<|message|>{args}<|call|>`,
  one call per message, no text beside it (the official template drops it, or renders it as analysis); the
  reasoning before a call is kept only when no later final reply follows; a result is
  `<|start|>functions.{name} to=assistant<|channel|>commentary<|message|>{JSON string}<|end|>`;
- the generation prompt is `<|start|>assistant`; the model writes the channel itself.

Deviation (final_reply_as_generated): the official template drops the reasoning of a tool call once a final
answer follows it, but while the model works (generation prompt after the tool result) that reasoning is in
its prompt. The last reply of a training conversation is rendered after the prompt as inference renders it,
so the model is trained on the context it sees.
"""

from __future__ import annotations

import json
from typing import Any

from lmforge.data.conversation import Conversation, Message, ToolCall
from lmforge.errors import TemplateError
from lmforge.templates import core
from lmforge.templates.core import Ctx, Template, Thinking, _Out, register
from lmforge.templates.tools import ToolFormat, tojson

CHANNELS = "# Valid channels: analysis, commentary, final. Channel must be included for every message."


def ts_type(spec: dict[str, Any]) -> str:
    """A JSON-schema property as the official template writes it in TypeScript (the common cases)."""
    kind, nullable = spec.get("type"), " | null" if spec.get("nullable") else ""
    if kind == "string":
        return ('"' + '" | "'.join(spec["enum"]) + '"') if spec.get("enum") else "string" + nullable
    if kind in ("number", "integer"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind == "array":
        item = (spec.get("items") or {}).get("type")
        simple = {"string": "string", "number": "number", "integer": "number", "boolean": "boolean"}
        if item in simple:
            return simple[item] + "[]" + nullable
        if not spec.get("items"):
            return "any[]" + nullable
    if kind == "object" and not spec.get("properties"):
        return "object"
    if kind is None and not any(k in spec for k in ("oneOf", "anyOf")):
        return "any"
    raise TemplateError(
        f"template 'gpt_oss' cannot write this tool parameter schema the way the official template does: "
        f"{json.dumps(spec)[:200]} (supported: string (enum), number, integer, boolean, arrays of those, objects "
        f"without properties)"
    )


class Harmony(ToolFormat):
    name = "gpt_oss"
    parallel_calls = False
    text_with_calls = False

    def tools_text(self, tools):
        out = "## functions\n\nnamespace functions {\n\n"
        for tool in tools:
            fn = tool["function"]
            out += f"// {fn['description']}\ntype {fn['name']} = "
            params = fn.get("parameters") or {}
            if not params.get("properties"):
                out += "() => any;\n\n"
                continue
            out += "(_: {\n"
            required = params.get("required") or []
            for name, spec in params["properties"].items():
                if spec.get("description"):
                    out += f"// {spec['description']}\n"
                out += name + ("" if name in required else "?") + ": " + ts_type(spec)
                if "default" in spec:
                    default = spec["default"] if spec.get("enum") else tojson(spec["default"])
                    out += f", // default: {default}"
                out += ",\n"
            out += "}) => any;\n\n"
        return out + "} // namespace functions"

    def calls_text(self, calls, ids):
        c = calls[0]
        return f" to=functions.{c.name}<|channel|>commentary json<|message|>{tojson(c.arguments)}<|call|>"

    def parse(self, text):
        head, sep, rest = text.partition(" to=functions.")
        if not sep or "<|message|>" not in rest:
            return text, []
        name = rest.split("<|channel|>")[0].split(" ")[0]
        body = rest.split("<|message|>", 1)[1].removesuffix("<|call|>")
        try:
            args = json.loads(body)
        except json.JSONDecodeError:
            return text, []
        return ("", [ToolCall(name, args)]) if isinstance(args, dict) else (text, [])


class GptOss(Template):
    history_end = (
        "<|end|>"  # ends replies before the last one: prompt, not trained (see the module docstring)
    )

    def render_start(self, out: _Out, ctx: Ctx) -> None:
        system = (
            "You are ChatGPT, a large language model trained by OpenAI.\nKnowledge cutoff: 2024-06\n"
            f"Current date: {core.today().isoformat()}\n\nReasoning: medium\n\n{CHANNELS}"
        )
        if ctx.tools:
            system += "\nCalls to these tools must go to the commentary channel: 'functions'."
        out.prompt(f"<|start|>system<|message|>{system}<|end|>")
        if ctx.system or ctx.tools:
            developer = f"# Instructions\n\n{ctx.system}\n\n" if ctx.system else ""
            if ctx.tools:
                developer += "# Tools\n\n" + self.tool_format.tools_text(ctx.tools)
            out.prompt(f"<|start|>developer<|message|>{developer}<|end|>")

    def render_assistant(self, out: _Out, ctx: Ctx, i: int) -> None:
        m = ctx.messages[i]
        out.prompt("<|start|>assistant")
        if m.tool_calls:
            later_final = any(x.role == "assistant" and not x.tool_calls for x in ctx.messages[i + 1 :])
            analysis = ""
            if m.reasoning is not None and m.reasoning and not later_final:
                analysis = f"<|channel|>analysis<|message|>{m.reasoning}<|end|><|start|>assistant"
            out.reply(analysis + self.tool_format.calls_text(m.tool_calls, []))
        elif i == len(ctx.messages) - 1 and not ctx.add_generation_prompt:
            analysis = ""
            if m.reasoning is not None:
                analysis = f"<|channel|>analysis<|message|>{m.reasoning}<|end|><|start|>assistant"
            out.reply(f"{analysis}<|channel|>final<|message|>{m.content}<|return|>")
        else:
            out.reply(f"<|channel|>final<|message|>{m.content}")
            out.prompt(self.history_end)

    def render_final_reply(self, out: _Out, ctx: Ctx, message: Message) -> None:
        """The last reply after the prompt as inference renders it (final_reply_as_generated): the reasoning of
        this exchange's earlier tool calls stays in it, as it does while the model works."""
        analysis = ""
        if message.reasoning is not None and (message.reasoning or not message.tool_calls):
            analysis = f"<|channel|>analysis<|message|>{message.reasoning}<|end|><|start|>assistant"
        if message.tool_calls:
            out.reply(analysis + self.tool_format.calls_text(message.tool_calls, []))
        else:
            out.reply(f"{analysis}<|channel|>final<|message|>{message.content}<|return|>")

    def render_tool(self, out: _Out, ctx: Ctx, i: int) -> None:
        name = next(m.tool_calls[0].name for m in reversed(ctx.messages[:i]) if m.tool_calls)
        content = tojson(ctx.messages[i].content)
        out.prompt(f"<|start|>functions.{name} to=assistant<|channel|>commentary<|message|>{content}<|end|>")

    def validate(self, conv: Conversation) -> None:
        super().validate(conv)
        for i, m in enumerate(conv.messages):
            if m.role == "tool" and not any(x.tool_calls for x in conv.messages[:i]):
                raise TemplateError(
                    f"template '{self.name}': tool result {i} follows no tool call (official: rejected)"
                )

    def split_reasoning(self, text: str) -> tuple[str | None, str]:
        """Generated harmony text -> (analysis, final answer)."""
        final = "<|channel|>final<|message|>"
        analysis = "<|channel|>analysis<|message|>"
        reasoning = text.split(analysis, 1)[1].split("<|end|>", 1)[0] if analysis in text else None
        answer = text.split(final, 1)[1] if final in text else text
        for stop in ("<|return|>", "<|end|>"):
            answer = answer.removesuffix(stop)
        return reasoning, answer

    def render_generation_prompt(self, out: _Out, ctx: Ctx) -> None:
        out.prompt("<|start|>assistant")


register(
    GptOss(
        "gpt_oss",
        user="<|start|>user<|message|>{content}<|end|>",
        stop_words=["<|return|>", "<|call|>"],
        special_tokens=("<|start|>", "<|message|>", "<|end|>", "<|channel|>", "<|return|>", "<|call|>"),
        thinking=Thinking(open="<|channel|>analysis<|message|>", close="<|end|>"),
        tool_format=Harmony(),
        final_reply_as_generated=True,
        official="gpt-oss.jinja",
    )
)
