"""Tool-call formats: how a family lists the tools in the prompt, writes a call, and how generated text is
parsed back into calls. Where a format puts these pieces (system prompt, first or last user message) is the
family's business; a format only produces and parses the text. Selected by name with `tool_format`.

Each format writes exactly what its family's official chat template writes (tests compare them), so JSON is
dumped the way transformers' `tojson` filter dumps it: json.dumps(..., ensure_ascii=False).
"""

from __future__ import annotations

import json
import re
from typing import Any

from lmforge.data.conversation import Message, ToolCall
from lmforge.errors import TemplateError, did_you_mean


def tojson(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent)


def json_or_text(value: str) -> Any:
    """An argument value read back from text: JSON where it parses as JSON, else the text itself."""
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _call(obj: Any, args_key: str = "arguments") -> ToolCall | None:
    """{"name": ..., "arguments": {...}} (arguments possibly a JSON string) -> ToolCall, else None."""
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        return None
    args = obj.get(args_key, obj.get("arguments", obj.get("parameters", {})))
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
            return None
    return ToolCall(obj["name"], args) if isinstance(args, dict) else None


class ToolFormat:
    name = ""
    parallel_calls = True  # more than one call in one assistant message
    text_with_calls = True  # text and calls in one assistant message
    # special tokens the parser needs in the decoded reply (decoding skips special tokens otherwise)
    markers: tuple[str, ...] = ()

    def tools_text(self, tools: list[dict[str, Any]]) -> str:
        raise NotImplementedError

    def calls_text(self, calls: list[ToolCall], ids: list[str]) -> str:
        raise NotImplementedError

    def parse(self, text: str) -> tuple[str, list[ToolCall]]:
        raise NotImplementedError

    def reply(self, content: str, calls_text: str) -> str:
        """A reply's text and its calls as one string, where a template has no layout of its own for them."""
        return content + "\n" + calls_text if content else calls_text

    def ids(self, messages: list[Message]) -> dict[int, list[str]] | None:
        """The call ids this format writes, per message index (None: the template's 9-character ids)."""
        return None

    def check_calls(self, template: str, index: int, message: Message) -> None:
        if not self.parallel_calls and len(message.tool_calls) > 1:
            raise TemplateError(
                f"template '{template}' (tool format {self.name}) allows one tool call per assistant message, "
                f"but message {index} has {len(message.tool_calls)}. Split them into separate turns."
            )
        if not self.text_with_calls and message.content.strip():
            raise TemplateError(
                f"template '{template}' (tool format {self.name}) cannot hold text and tool calls in one "
                f"assistant message (the official template drops the text), but message {index} has both. "
                f"Move the text into its own assistant message or drop it."
            )

    def __repr__(self) -> str:
        return f"<tool format {self.name}>"


class Hermes(ToolFormat):
    """Qwen2.5 / Qwen3: tools as JSON lines in <tools>, calls as JSON in <tool_call> tags."""

    name = "qwen"
    _CALL = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)

    def tools_text(self, tools):
        listed = "".join("\n" + tojson(t) for t in tools)
        return (
            "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
            "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
            f"{listed}\n</tools>\n\n"
            "For each function call, return a json object with function name and arguments within "
            '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, '
            '"arguments": <args-json-object>}\n</tool_call>'
        )

    def calls_text(self, calls, ids):
        return "\n".join(
            f'<tool_call>\n{{"name": "{c.name}", "arguments": {tojson(c.arguments)}}}\n</tool_call>'
            for c in calls
        )

    def parse(self, text):
        calls: list[ToolCall] = []

        def take(match: re.Match) -> str:
            try:
                call = _call(json.loads(match.group(1)))
            except json.JSONDecodeError:
                call = None
            if call is None:
                return match.group(0)  # not a call we understand: keep it as text
            calls.append(call)
            return ""

        content = self._CALL.sub(take, text)
        return (content.strip() if calls else text), calls


class Llama3(ToolFormat):
    """Llama 3.1 JSON tool calling: one {"name", "parameters"} object per message, tools in the first user turn."""

    name = "llama3"
    markers = ("<|python_tag|>",)
    parallel_calls = False
    text_with_calls = False

    def tools_text(self, tools):
        listed = "".join(tojson(t, indent=4) + "\n\n" for t in tools)
        return (
            "Given the following functions, please respond with a JSON for a function call with its proper "
            "arguments that best answers the given prompt.\n\n"
            'Respond in the format {"name": function name, "parameters": dictionary of argument name and its '
            "value}.Do not use variables.\n\n" + listed
        )

    def calls_text(self, calls, ids):
        return "".join(f'{{"name": "{c.name}", "parameters": {tojson(c.arguments)}}}' for c in calls)

    def parse(self, text):
        body = text.strip().removeprefix("<|python_tag|>").strip()
        try:
            call = _call(json.loads(body), args_key="parameters")
        except json.JSONDecodeError:
            call = None
        return ("", [call]) if call is not None else (text, [])


class Llama4Tools(Llama3):
    """Llama 4: Llama 3.1's tool list and call objects; the calls of a message follow its text, which sits
    between <|python_start|> and <|python_end|>. Parallel calls and text beside calls are allowed."""

    name = "llama4"
    markers = ("<|python_start|>", "<|python_end|>")
    parallel_calls = True
    text_with_calls = True
    _CALLS = re.compile(r"\s*<\|python_start\|>(.*?)<\|python_end\|>(.*)", re.DOTALL)

    def reply(self, content, calls_text):
        return "<|python_start|>" + content + "<|python_end|>" + calls_text

    def parse(self, text):
        match = self._CALLS.fullmatch(text)
        if not match:
            return text, []
        calls: list[ToolCall] = []
        decoder, rest = json.JSONDecoder(), match.group(2).strip()
        while rest:
            try:
                obj, end = decoder.raw_decode(rest)
            except json.JSONDecodeError:
                return text, []
            call = _call(obj, args_key="parameters")
            if call is None:
                return text, []
            calls.append(call)
            rest = rest[end:].lstrip()
        return (match.group(1).strip(), calls) if calls else (text, [])


class Mistral(ToolFormat):
    """Mistral v3 tokenizer: [AVAILABLE_TOOLS] before the last user message, [TOOL_CALLS] with 9-char ids."""

    name = "mistral"
    markers = ("[TOOL_CALLS]",)
    text_with_calls = False
    gap = " "  # after [AVAILABLE_TOOLS] and [TOOL_CALLS]

    def tools_text(self, tools):
        def one(tool: dict) -> str:
            fields = [
                f'"{k}": "{v}"'
                if isinstance(v, str)
                else f'"{k}": {tojson(v)}'  # strings unescaped, as official
                for k, v in tool["function"].items()
                if k != "return"
            ]
            return '{"type": "function", "function": {' + ", ".join(fields) + "}}"

        listed = ", ".join(one(t) for t in tools)
        return f"[AVAILABLE_TOOLS]{self.gap}[" + listed + ("]" if tools else "") + "[/AVAILABLE_TOOLS]"

    def calls_text(self, calls, ids):
        items = [
            tojson({"name": c.name, "arguments": c.arguments})[:-1] + f', "id": "{i}"}}'
            for c, i in zip(calls, ids, strict=True)
        ]
        return f"[TOOL_CALLS]{self.gap}[" + ", ".join(items) + "]"

    def parse(self, text):
        head, marker, payload = text.partition("[TOOL_CALLS]")
        if not marker:
            return text, []
        try:
            items = json.loads(payload.strip())
        except json.JSONDecodeError:
            return text, []
        calls = [_call(item) for item in (items if isinstance(items, list) else [items])]
        if not calls or None in calls:
            return text, []
        return head.strip(), calls


class MistralTekken(Mistral):
    """Mistral's format for the "v3 tekken" tokenizer (Ministral-8B, Mistral-Nemo): no space after the tags.
    Chosen by the `ministral` template; `tool_format: mistral` selects the spaced v3 form."""

    gap = ""


class GLM4(ToolFormat):
    """GLM-4: tools under "# 可用工具" in the system turn; a call is `<|assistant|>{name}\\n{json args}`."""

    name = "glm4"
    markers = ("<|assistant|>",)
    _CALL = re.compile(r"([^\n{}]+)\n(\{.*\})\s*", re.DOTALL)

    def tools_text(self, tools):
        parts = ["# 可用工具\n"]
        for tool in tools:
            fn = tool["function"] if tool.get("function") else tool
            parts.append(
                f"\n## {fn['name']}\n\n{tojson(fn, indent=4)}\n在调用上述函数时，请使用 Json 格式表示调用的参数。"
            )
        return "".join(parts)

    def calls_text(self, calls, ids):
        return "<|assistant|>".join(f"{c.name}\n{tojson(c.arguments)}" for c in calls)

    def reply(self, content, calls_text):
        return content + "<|assistant|>" + calls_text if content else calls_text  # each call is its own turn

    def parse(self, text):
        content, calls = [], []
        for part in text.split("<|assistant|>"):
            match = self._CALL.fullmatch(part)
            call = None
            if match:
                try:
                    call = _call({"name": match.group(1).strip(), "arguments": json.loads(match.group(2))})
                except json.JSONDecodeError:
                    call = None
            if call is None:
                content.append(part)
            else:
                calls.append(call)
        return "".join(content).strip() if calls else text, calls


class GLM45(ToolFormat):
    """GLM-4.5 / 4.6: Hermes-like tool list; a call is `<tool_call>{name}` then one `<arg_key>` / `<arg_value>`
    pair per argument (strings as they are, other values as JSON). Parsing reads a value as JSON when it is
    valid JSON, so a string argument that looks like a number or `true` comes back as one."""

    name = "glm4_moe"
    _CALL = re.compile(r"<tool_call>([^\n<]*)\n?(.*?)</tool_call>", re.DOTALL)
    _ARG = re.compile(r"<arg_key>(.*?)</arg_key>\s*<arg_value>(.*?)</arg_value>", re.DOTALL)

    def tools_text(self, tools):
        listed = "".join(tojson(t) + "\n" for t in tools)
        return (
            "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
            "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
            f"{listed}</tools>\n\n"
            "For each function call, output the function name and arguments within the following XML format:\n"
            "<tool_call>{function-name}\n<arg_key>{arg-key-1}</arg_key>\n<arg_value>{arg-value-1}</arg_value>\n"
            "<arg_key>{arg-key-2}</arg_key>\n<arg_value>{arg-value-2}</arg_value>\n...\n</tool_call>"
        )

    def calls_text(self, calls, ids):
        def value(v: Any) -> str:
            return v if isinstance(v, str) else tojson(v)

        return "\n".join(
            f"<tool_call>{c.name}\n"
            + "".join(
                f"<arg_key>{k}</arg_key>\n<arg_value>{value(v)}</arg_value>\n" for k, v in c.arguments.items()
            )
            + "</tool_call>"
            for c in calls
        )

    def parse(self, text):
        calls: list[ToolCall] = []


        def take(match: re.Match) -> str:
            name = match.group(1).strip()
            if not name:
                return match.group(0)
            calls.append(ToolCall(name, {k.strip(): json_or_text(v) for k, v in self._ARG.findall(match.group(2))}))
            return ""

        content = self._CALL.sub(take, text)
        return (content.strip() if calls else text), calls


class Qwen35(ToolFormat):
    """Qwen3.5 / Qwen3.6 (and Qwen3-Coder's layout): tools as JSON lines in <tools>, a call as
    `<tool_call>\n<function={name}>\n` then `<parameter={key}>\n{value}\n</parameter>\n` per argument, then
    `</function>\n</tool_call>`; calls are joined by a newline. Qwen3.5 writes a value as JSON only when it is an
    object or a list (other values as jinja's `string` filter: Python's str), Qwen3.6 any non-string as JSON.
    Parsing reads a value as JSON when it is valid JSON (as GLM-4.5's does)."""

    name = "qwen3_5"
    _CALL = re.compile(r"<tool_call>\s*<function=([^>\n]+)>\n?(.*?)</function>\s*</tool_call>", re.DOTALL)
    _PARAM = re.compile(r"<parameter=([^>\n]+)>\n?(.*?)\n?</parameter>", re.DOTALL)

    def tools_text(self, tools):
        listed = "".join("\n" + tojson(t) for t in tools)
        return (
            "# Tools\n\nYou have access to the following functions:\n\n<tools>" + listed + "\n</tools>"
            "\n\nIf you choose to call a function ONLY reply in the following format with NO suffix:\n\n"
            "<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n"
            "</parameter>\n<parameter=example_parameter_2>\nThis is the value for the second parameter\n"
            "that can span\nmultiple lines\n</parameter>\n</function>\n</tool_call>\n\n<IMPORTANT>\nReminder:\n"
            "- Function calls MUST follow the specified format: an inner <function=...></function> block must be "
            "nested within <tool_call></tool_call> XML tags\n- Required parameters MUST be specified\n"
            "- You may provide optional reasoning for your function call in natural language BEFORE the function "
            "call, but NOT after\n- If there is no function call available, answer the question like normal "
            "with your current knowledge and do not tell the user about function calls\n</IMPORTANT>"
        )

    def value(self, v: Any) -> str:
        return tojson(v) if isinstance(v, (dict, list)) else str(v)

    def calls_text(self, calls, ids):
        return "\n".join(
            f"<tool_call>\n<function={c.name}>\n"
            + "".join(f"<parameter={k}>\n{self.value(v)}\n</parameter>\n" for k, v in c.arguments.items())
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


class Qwen36(Qwen35):
    name = "qwen3_6"

    def value(self, v: Any) -> str:
        return v if isinstance(v, str) else tojson(v)


class Ministral3(ToolFormat):
    """Ministral 3 (2512): `[AVAILABLE_TOOLS]{tools as one JSON list}[/AVAILABLE_TOOLS]`, each call
    `[TOOL_CALLS]{name}[ARGS]{arguments JSON}` right after the reply's text; results carry no ids."""

    name = "ministral3"
    markers = ("[TOOL_CALLS]", "[ARGS]")
    _CALL = re.compile(r"\[TOOL_CALLS\]([^\[]+)\[ARGS\]")

    def tools_text(self, tools):
        return "[AVAILABLE_TOOLS]" + tojson(tools) + "[/AVAILABLE_TOOLS]"

    def calls_text(self, calls, ids):
        return "".join(f"[TOOL_CALLS]{c.name}[ARGS]{tojson(c.arguments)}" for c in calls)

    def parse(self, text):
        parts = self._CALL.split(text)
        if len(parts) < 3:
            return text, []
        calls: list[ToolCall] = []
        decoder = json.JSONDecoder()
        for name, rest in zip(parts[1::2], parts[2::2], strict=True):
            try:
                args, end = decoder.raw_decode(rest.strip())
            except json.JSONDecodeError:
                return text, []
            if not isinstance(args, dict) or rest.strip()[end:].strip():
                return text, []
            calls.append(ToolCall(name.strip(), args))
        return parts[0].strip(), calls


class GLM47(GLM45):
    """GLM-4.7: GLM-4.5's tool list with a one-line example, and calls written without newlines:
    `<tool_call>{name}<arg_key>{key}</arg_key><arg_value>{value}</arg_value>...</tool_call>`, back to back."""

    name = "glm4_7"

    def tools_text(self, tools):
        return (
            super().tools_text(tools).split("<tool_call>{function-name}")[0]
            + "<tool_call>{function-name}<arg_key>{arg-key-1}</arg_key><arg_value>{arg-value-1}</arg_value>"
            "<arg_key>{arg-key-2}</arg_key><arg_value>{arg-value-2}</arg_value>...</tool_call>"
        )

    def calls_text(self, calls, ids):
        def value(v: Any) -> str:
            return v if isinstance(v, str) else tojson(v)

        return "".join(
            f"<tool_call>{c.name}"
            + "".join(
                f"<arg_key>{k}</arg_key><arg_value>{value(v)}</arg_value>" for k, v in c.arguments.items()
            )
            + "</tool_call>"
            for c in calls
        )


class MiniMaxM2(ToolFormat):
    """MiniMax-M2 / M2.1: tools as `<tool>{function JSON}</tool>` lines; calls as
    `<minimax:tool_call>\n<invoke name="{name}">\n<parameter name="{key}">{value}</parameter>\n...</invoke>\n...
    </minimax:tool_call>` (strings as they are, other values as JSON; parsing reads valid JSON as JSON)."""

    name = "minimax2"
    _CALLS = re.compile(r"<minimax:tool_call>(.*?)</minimax:tool_call>", re.DOTALL)
    _INVOKE = re.compile(r'<invoke name="([^"]+)">(.*?)</invoke>', re.DOTALL)
    _PARAM = re.compile(r'<parameter name="([^"]+)">(.*?)</parameter>', re.DOTALL)

    def tools_text(self, tools):
        listed = "".join("<tool>" + tojson(t.get("function", t)) + "</tool>\n" for t in tools)
        return (
            "# Tools\nYou may call one or more tools to assist with the user query.\nHere are the tools available "
            "in JSONSchema format:\n\n<tools>\n"
            + listed
            + "</tools>\n\nWhen making tool calls, use XML format to "
            'invoke tools and pass parameters:\n\n<minimax:tool_call>\n<invoke name="tool-name-1">\n'
            '<parameter name="param-key-1">param-value-1</parameter>\n<parameter name="param-key-2">param-value-2'
            "</parameter>\n...\n</invoke>\n</minimax:tool_call>"
        )

    def calls_text(self, calls, ids):
        def value(v: Any) -> str:
            return v if isinstance(v, str) else tojson(v)

        invokes = "".join(
            f'<invoke name="{c.name}">\n'
            + "".join(f'<parameter name="{k}">{value(v)}</parameter>\n' for k, v in c.arguments.items())
            + "</invoke>\n"
            for c in calls
        )
        return "<minimax:tool_call>\n" + invokes + "</minimax:tool_call>"

    def parse(self, text):
        calls: list[ToolCall] = []


        def take(match: re.Match) -> str:
            for name, body in self._INVOKE.findall(match.group(1)):
                calls.append(ToolCall(name, {k: json_or_text(v) for k, v in self._PARAM.findall(body)}))
            return ""

        content = self._CALLS.sub(take, text)
        return (content.strip() if calls else text), calls


class KimiK2(ToolFormat):
    """Kimi K2: the tool list as compact JSON in a `tool_declare` system turn; calls in
    `<|tool_calls_section_begin|>` as `<|tool_call_begin|>functions.{name}:{n}<|tool_call_argument_begin|>{args}<|tool_call_end|>`,
    n counting the calls of the conversation (the ids Kimi writes and results refer to)."""

    name = "kimi_k2"
    markers = (
        "<|tool_calls_section_begin|>",
        "<|tool_calls_section_end|>",
        "<|tool_call_begin|>",
        "<|tool_call_argument_begin|>",
        "<|tool_call_end|>",
    )
    _CALL = re.compile(
        r"<\|tool_call_begin\|>\s*(?:functions\.)?([^:<]+)(?::\d+)?\s*<\|tool_call_argument_begin\|>(.*?)<\|tool_call_end\|>",
        re.DOTALL,
    )
    _SECTION = re.compile(r"<\|tool_calls_section_begin\|>(.*?)<\|tool_calls_section_end\|>", re.DOTALL)

    def tools_text(self, tools):
        return json.dumps(tools, ensure_ascii=False, separators=(",", ":"))

    def ids(self, messages):
        """`functions.{name}:{n}`, n counting the conversation's calls: the parser reads the name from the id."""
        ids, n = {}, 0
        for i, m in enumerate(messages):
            ids[i] = [f"functions.{c.name}:{n + k}" for k, c in enumerate(m.tool_calls)]
            n += len(m.tool_calls)
        return ids

    def reply(self, content, calls_text):
        return content + calls_text

    def calls_text(self, calls, ids):
        body = "".join(
            f"<|tool_call_begin|>{i}<|tool_call_argument_begin|>{tojson(c.arguments)}<|tool_call_end|>"
            for c, i in zip(calls, ids, strict=True)
        )
        return "<|tool_calls_section_begin|>" + body + "<|tool_calls_section_end|>"

    def parse(self, text):
        calls: list[ToolCall] = []

        def take(match: re.Match) -> str:
            for name, args in self._CALL.findall(match.group(1)):
                call = _call({"name": name.strip(), "arguments": args.strip()})
                if call is not None:
                    calls.append(call)
            return ""

        content = self._SECTION.sub(take, text)
        return (content.strip() if calls else text), calls


class Granite4(Hermes):
    """Granite 4.0: Hermes calls (`<tool_call>\n{"name": ..., "arguments": ...}\n</tool_call>`) and its own tool list
    wording."""

    name = "granite4"

    def tools_text(self, tools):
        listed = "".join("\n" + tojson(t) for t in tools)
        return (
            "You are a helpful assistant with access to the following tools. You may call one or more tools to "
            "assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML "
            "tags:\n<tools>"
            + listed
            + "\n</tools>\n\nFor each tool call, return a json object with function name "
            'and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, '
            '"arguments": <args-json-object>}\n</tool_call>. If a tool does not exist in the provided list of tools, '
            "notify the user that you do not have the ability to fulfill the request."
        )


class SeedOSS(ToolFormat):
    """Seed-OSS: each function listed as a Python signature with a docstring; a call is
    `<seed:tool_call>\\n<function=NAME>\\n<parameter=KEY>VALUE</parameter>...`, values that are not strings
    written as Python's str() writes them (the template's `|string`). Parsing reads a value back as a Python
    literal when it is one, so a string argument that looks like a number comes back as one."""

    name = "seed_oss"
    _PY = {"string": "str", "number": "int", "integer": "int", "boolean": "bool", "array": "list"}
    _CALL = re.compile(
        r"<seed:tool_call>\s*<function=([^>\n]+)>(.*?)</function>\s*</seed:tool_call>", re.DOTALL
    )
    _ARG = re.compile(r"<parameter=([^>\n]+)>(.*?)</parameter>", re.DOTALL)

    def tools_text(self, tools):
        return "".join(self._function(t["function"]) for t in tools if t.get("type") == "function") + (
            "\n工具调用请遵循如下格式:\n<seed:tool_call>\n<function=example_function_name>\n"
            "<parameter=example_parameter_1>value_1</parameter>\n<parameter=example_parameter_2>This is the value "
            "for the second parameter\nthat can span\nmultiple lines</parameter>\n</function>\n</seed:tool_call>\n"
        )

    def _function(self, fn: dict) -> str:
        params = (fn.get("parameters") or {}).get("properties") or {}
        required = (fn.get("parameters") or {}).get("required") or []
        returns = ((fn.get("returns") or {}).get("properties")) or {}
        signature = ",".join(f"{k}: {self._type(v)}" for k, v in params.items())
        doc = f"    {(fn.get('description') or '').strip()}\n\n"
        if params:
            doc += "    Args:" + "".join(
                f"\n    - {k} ({self._type(v)}) [{'必填' if k in required else '选填'}]: "
                + (v.get("description") or "")
                for k, v in params.items()
            )
        if returns:
            doc += "\n    Returns:" + "".join(
                f"\n    - {k} ({self._type(v)}): {v.get('description') or ''}" for k, v in returns.items()
            )
        doc += '\n    """' if returns else '\n\n    """'
        return f'\n\nFunction:\ndef {fn["name"]}({signature}):\n    """\n{doc}'

    def _type(self, spec: dict) -> str:
        return self._PY.get(spec.get("type"), "Any")

    def calls_text(self, calls, ids):
        def value(v: Any) -> str:
            return v if isinstance(v, str) else str(v)

        return "\n".join(
            f"<seed:tool_call>\n<function={c.name}>\n"
            + "".join(f"<parameter={k}>{value(v)}</parameter>\n" for k, v in c.arguments.items())
            + "</function>\n</seed:tool_call>"
            for c in calls
        )

    def parse(self, text):
        import ast

        calls: list[ToolCall] = []

        def value(v: str) -> Any:
            try:
                return ast.literal_eval(v)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                return v

        def take(match: re.Match) -> str:
            calls.append(
                ToolCall(
                    match.group(1).strip(),
                    {k.strip(): value(v) for k, v in self._ARG.findall(match.group(2))},
                )
            )
            return ""

        content = self._CALL.sub(take, text)
        return (content.strip() if calls else text), calls


class Default(ToolFormat):
    """LLaMA-Factory's own format (`tool_format: default`): the tools as a bulleted list of names, descriptions
    and arguments; each call `Action: {name}\nAction Input: {arguments JSON}`, calls joined by a newline. Text
    may precede the calls."""

    name = "default"
    _ACTION = re.compile(r"Action:[ \t]*([\w.\-]+)\s*Action Input:\s*")

    def tools_text(self, tools):
        listed, names = "", []
        for tool in tools:
            fn = tool.get("function", tool) if tool.get("type") == "function" else tool
            params = fn.get("parameters") or {}
            args = ""
            for key, spec in (params.get("properties") or {}).items():
                required = ", required" if key in params.get("required", []) else ""
                enum = f", should be one of [{', '.join(map(str, spec['enum']))}]" if spec.get("enum") else ""
                items = (
                    f", where each item should be {spec['items'].get('type', '')}"
                    if spec.get("items")
                    else ""
                )
                args += f"  - {key} ({spec.get('type', '')}{required}): {spec.get('description', '')}{enum}{items}\n"
            listed += f"> Tool Name: {fn['name']}\nTool Description: {fn.get('description', '')}\nTool Args:\n{args}\n"
            names.append(fn["name"])
        return (
            f"You have access to the following tools:\n{listed}Use the following format if using a tool:\n```\n"
            f"Action: tool name (one of [{', '.join(names)}])\nAction Input: the input to the tool, in a JSON "
            'format representing the kwargs (e.g. ```{"input": "hello world", "num_beams": 5}```)\n```\n'
        )

    def calls_text(self, calls, ids):
        return "\n".join(f"Action: {c.name}\nAction Input: {tojson(c.arguments)}" for c in calls)

    def parse(self, text):
        match = self._ACTION.search(text)
        if match is None:
            return text, []
        head, rest = text[: match.start()], text[match.start() :]
        calls, decoder = [], json.JSONDecoder()
        while rest:
            match = self._ACTION.match(rest)
            if match is None:  # something after a call that is not another call
                return text, []
            try:
                args, end = decoder.raw_decode(rest, match.end())
            except json.JSONDecodeError:
                return text, []
            call = _call({"name": match.group(1), "arguments": args})
            if call is None:
                return text, []
            calls.append(call)
            rest = rest[end:].lstrip()
        return head.strip(), calls


class LFM2Tools(ToolFormat):
    """Liquid LFM2 / LFM2.5: the tool list as one JSON list (as the official template writes it) between `<|tool_list_start|>` and
    `<|tool_list_end|>`; the calls of a reply as one Python list of calls with keyword arguments,
    `<|tool_call_start|>[name(key="value", n=1), ...]<|tool_call_end|>`. Values are written as JSON (a JSON
    string is a valid Python string; true / false / null are read back as JSON's)."""

    name = "lfm2"
    markers = ("<|tool_call_start|>", "<|tool_call_end|>")
    _CALLS = re.compile(r"<\|tool_call_start\|>(.*?)<\|tool_call_end\|>", re.DOTALL)

    def tools_text(self, tools):
        return "List of tools: <|tool_list_start|>" + tojson(tools) + "<|tool_list_end|>"

    def calls_text(self, calls, ids):
        def one(c: ToolCall) -> str:
            return f"{c.name}(" + ", ".join(f"{k}={tojson(v)}" for k, v in c.arguments.items()) + ")"

        return "<|tool_call_start|>[" + ", ".join(one(c) for c in calls) + "]<|tool_call_end|>"

    def parse(self, text):
        import ast

        match = self._CALLS.search(text)
        if match is None:
            return text, []
        try:
            tree = ast.parse(match.group(1).strip(), mode="eval").body
            nodes = tree.elts if isinstance(tree, ast.List) else [tree]
            calls = [self._call(node) for node in nodes]
        except (SyntaxError, ValueError):
            return text, []
        content = (text[: match.start()] + text[match.end() :]).strip()
        return (content, calls) if calls else (text, [])

    def _call(self, node) -> ToolCall:
        import ast

        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) or node.args:
            raise ValueError("not a call with keyword arguments")
        return ToolCall(node.func.id, {k.arg: _py_value(k.value) for k in node.keywords})


_JSON_NAMES = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}


def _py_value(node) -> Any:
    """A Python / JSON literal's AST node -> its value (true, false and null read as JSON's)."""
    import ast

    if isinstance(node, ast.Name) and node.id in _JSON_NAMES:
        return _JSON_NAMES[node.id]
    if isinstance(node, ast.List | ast.Tuple):
        return [_py_value(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {_py_value(k): _py_value(v) for k, v in zip(node.keys, node.values, strict=True)}
    return ast.literal_eval(node)  # constants, negative numbers; raises ValueError for anything else


TOOL_FORMATS: dict[str, ToolFormat] = {
    f.name: f
    for f in (
        Hermes(),
        Llama3(),
        Llama4Tools(),
        Mistral(),
        GLM4(),
        GLM45(),
        SeedOSS(),
        Qwen35(),
        Qwen36(),
        Ministral3(),
        GLM47(),
        MiniMaxM2(),
        KimiK2(),
        Granite4(),
        Default(),
        LFM2Tools(),
    )
}


def get_tool_format(name: str) -> ToolFormat:
    if name not in TOOL_FORMATS:
        raise TemplateError(
            f"unknown tool_format {name!r}{did_you_mean(name, TOOL_FORMATS) or '.'} "
            f"Known tool formats: {', '.join(sorted(TOOL_FORMATS))}."
        )
    return TOOL_FORMATS[name]
