"""IBM Granite 3 (`granite3`): `<|start_of_role|>{role}<|end_of_role|>{content}<|end_of_text|>\\n`.

This is Granite 3.0's official template. Granite 3.1-3.3 render the same text whenever the conversation has
a system prompt and no tools; without one they write a default system prompt holding today's date (so the
rendering changes from day to day), which is why the 3.0 template is the one registered. Granite 3.0 lists
tools in an `available_tools` turn and writes calls and results in `assistant_tool_call` / `tool_response`
roles that OpenAI-style conversations do not have: no tool format.
"""

from lmforge.templates.core import Template, register

register(
    Template(
        "granite3",
        system="<|start_of_role|>system<|end_of_role|>{content}<|end_of_text|>\n",
        user="<|start_of_role|>user<|end_of_role|>{content}<|end_of_text|>\n",
        assistant="<|start_of_role|>assistant<|end_of_role|>",
        end_of_turn="<|end_of_text|>",
        separator="\n",
        stop_words=["<|end_of_text|>"],
        special_tokens=("<|start_of_role|>", "<|end_of_role|>", "<|end_of_text|>"),
        official="granite3.0.jinja",
    )
)
