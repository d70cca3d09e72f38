"""ChatML (`<|im_start|>role\\n...<|im_end|>\\n`): chatml, yi (Yi-34B/6B-Chat), smollm, smollm2, intern2.

The official templates render every role the same way and have no tool-call format.
"""

import json
import re

from lmforge.data.conversation import ToolCall
from lmforge.templates.core import OFFICIAL_DIR, Ctx, Template, Thinking, _Out, register
from lmforge.templates.tools import ToolFormat, tojson

CHATML = dict(
    system="<|im_start|>system\n{content}<|im_end|>\n",
    user="<|im_start|>user\n{content}<|im_end|>\n",
    assistant="<|im_start|>assistant\n",
    end_of_turn="<|im_end|>",
    separator="\n",
    stop_words=["<|im_end|>"],
    special_tokens=("<|im_start|>", "<|im_end|>"),
)

register(Template("chatml", official="chatml.jinja", **CHATML))
register(Template("yi", official="chatml.jinja", **CHATML))
register(Template("smollm", official="chatml.jinja", **CHATML))
# MiniCPM4 (openbmb/MiniCPM4-0.5B, -8B): plain ChatML, no bos (LLaMA-Factory's `cpm4` writes a bos the official
# template does not)
register(Template("cpm4", official="chatml.jinja", **CHATML))
register(
    Template(
        "smollm2",
        default_system="You are a helpful AI assistant named SmolLM, trained by Hugging Face",  # sic: no period
        official="smollm2.jinja",
        **CHATML,
    )
)
# InternLM2 / 2.5 chat: ChatML after BOS. (LLaMA-Factory adds a default system prompt; the official
# template has none, and we follow the official one.)
register(Template("intern2", prefix="{bos}", official="internlm2.jinja", **CHATML))


# ------------------------------------------------------------------ Intern-S1 (`intern_s1`)

_S1 = (OFFICIAL_DIR / "intern-s1.jinja").read_text(encoding="utf-8")
# the official template's own texts: the default system prompt with thinking on, and the tool instruction
S1_THINKING_SYSTEM = _S1.split("{% set default_thinking_sys %}", 1)[1].split("{% endset %}", 1)[0]
S1_TOOL_INSTRUCTION = _S1.split("{%- set tool_instruction %}", 1)[1].split("{% if tools %}", 1)[0]


class InternS1Tools(ToolFormat):
    """Intern-S1: the tool list as indented JSON after the official instruction; each call
    `<|action_start|><|plugin|>\n{"name": ..., "parameters": {...}}\n<|action_end|>`, joined by newlines, right
    after the reply's text."""

    name = "intern_s1"
    _CALL = re.compile(r"<\|action_start\|><\|plugin\|>\s*(.*?)\s*<\|action_end\|>", re.DOTALL)

    def tools_text(self, tools):
        return S1_TOOL_INSTRUCTION + tojson(tools, indent=2)

    def calls_text(self, calls, ids):
        return "\n".join(
            f'<|action_start|><|plugin|>\n{{"name": "{c.name}", "parameters": {tojson(c.arguments)}}}\n<|action_end|>'
            for c in calls
        )

    def parse(self, text):
        calls: list[ToolCall] = []

        def take(match: re.Match) -> str:
            try:
                obj = json.loads(match.group(1))
            except json.JSONDecodeError:
                return match.group(0)
            if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
                return match.group(0)
            calls.append(ToolCall(obj["name"], obj.get("parameters") or obj.get("arguments") or {}))
            return ""

        content = self._CALL.sub(take, text)
        return (content.strip() if calls else text), calls


class InternS1(Template):
    """Intern-S1 / Intern-S1-mini (text), official template mirrored:
    - the system prompt (or, with thinking on and none given, the official reasoning prompt), then the tool
      instruction and list; the block is `<|im_start|>system name=<|plugin|>` when there are tools, and is left
      out when empty;
    - every reply after the last user message opens with `<think>\n{reasoning}\n</think>\n` (empty without
      reasoning), earlier replies are the answer only; calls follow the answer; results are `environment` turns;
    - the generation prompt ends `<think>` with thinking on (the default), so that text is prompt and the rest of
      the block is trained; with thinking off the whole (empty) block is trained."""

    def render_start(self, out: _Out, ctx: Ctx) -> None:
        if ctx.system is not None:
            system = ctx.system.lstrip("\n")
        else:
            system = S1_THINKING_SYSTEM if ctx.thinking else ""
        if ctx.tools:
            system = system.rstrip("\n") + "\n\n" + self.tool_format.tools_text(ctx.tools)
        system = system.strip("\n")
        if system:
            name = " name=<|plugin|>" if ctx.tools else ""
            out.prompt(f"<|im_start|>system{name}\n{system}<|im_end|>\n")

    def render_user(self, out: _Out, ctx: Ctx, i: int) -> None:
        out.prompt(f"<|im_start|>user\n{ctx.messages[i].content.lstrip(chr(10))}<|im_end|>\n")

    def render_tool(self, out: _Out, ctx: Ctx, i: int) -> None:
        content = ctx.messages[i].content.lstrip("\n")
        out.prompt(f"<|im_start|>environment name=<|plugin|>\n{content}<|im_end|>\n")

    def render_assistant(self, out: _Out, ctx: Ctx, i: int) -> None:
        m = ctx.messages[i]
        content, reasoning = m.content, m.reasoning
        if reasoning is None:
            reasoning = ""
            if "</think>" in content:
                reasoning = content.split("</think>")[0].strip().split("<think>")[-1].strip()
                content = content.split("</think>")[-1]
        body = content.lstrip("\n")
        if m.tool_calls:
            body += self.tool_format.calls_text(m.tool_calls, [])
        out.prompt(self.assistant)
        last_user = max((j for j, x in enumerate(ctx.messages) if x.role == "user"), default=-1)
        if i > last_user:
            think = "<think>\n" + reasoning.strip("\n") + "\n</think>\n"
            if ctx.thinking:
                out.prompt("<think>")
                think = think.removeprefix("<think>")
            body = think + body
        out.reply(body + self.end_of_turn)
        out.prompt(self.separator)

    def render_generation_prompt(self, out: _Out, ctx: Ctx) -> None:
        out.prompt(self.assistant + ("<think>" if ctx.thinking else ""))


register(
    InternS1(
        "intern_s1",
        thinking=Thinking(),
        tool_format=InternS1Tools(),
        official="intern-s1.jinja",
        **dict(
            CHATML,
            special_tokens=CHATML["special_tokens"] + ("<|action_start|>", "<|plugin|>", "<|action_end|>"),
        ),
    )
)
