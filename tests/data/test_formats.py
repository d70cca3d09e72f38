import json

import pytest

from lmforge.data.conversation import Conversation, Message, ToolCall
from lmforge.data.formats import (
    InvalidRow,
    check_columns,
    check_for_stage,
    dump_conversation,
    load_conversation,
    parse_tools,
    row_to_conversation,
)
from lmforge.data.registry import parse_entry
from lmforge.errors import DataError


def spec(**entry):
    entry.setdefault("file_name", "x.json")
    return parse_entry("x", entry)


WEATHER_TOOL = {"name": "get_weather", "description": "Weather of a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


# ------------------------------------------------------------------------------------------------ alpaca


def test_alpaca_row_with_history_and_system():
    row = {"instruction": "Summarise this.", "input": "A long text.", "output": "Short.", "system": "Be brief.",
           "history": [["Hi", "Hello!"], ["How are you?", "Fine."]]}
    conv = row_to_conversation(row, spec(columns={"prompt": "instruction", "query": "input", "response": "output",
                                                  "system": "system", "history": "history"}))
    assert conv == Conversation(
        messages=[Message("user", "Hi"), Message("assistant", "Hello!"), Message("user", "How are you?"),
                  Message("assistant", "Fine."), Message("user", "Summarise this.\nA long text."),
                  Message("assistant", "Short.")],
        system="Be brief.")


def test_alpaca_joins_instruction_and_input_like_llamafactory():
    s = spec()
    assert row_to_conversation({"instruction": "I", "input": "", "output": "o"}, s).messages[0].content == "I"
    assert row_to_conversation({"instruction": "", "input": "Q", "output": "o"}, s).messages[0].content == "Q"
    assert row_to_conversation({"instruction": "I", "output": "o"}, s).messages[0].content == "I"  # no input column


def test_alpaca_text_only_pretraining_row():
    conv = row_to_conversation({"text": "Some document."}, spec(columns={"prompt": "text"}))
    assert conv.messages == [Message("user", "Some document.")]
    check_for_stage(conv, "pt")
    with pytest.raises(InvalidRow, match="no reply"):
        check_for_stage(conv, "sft")


def test_alpaca_ranking_and_kto():
    s = spec(ranking=True, columns={"prompt": "instruction", "chosen": "chosen", "rejected": "rejected"})
    conv = row_to_conversation({"instruction": "Q", "chosen": "good", "rejected": "bad"}, s)
    assert conv.messages == [Message("user", "Q")]
    assert (conv.chosen, conv.rejected) == (Message("assistant", "good"), Message("assistant", "bad"))
    check_for_stage(conv, "dpo")
    conv = row_to_conversation({"instruction": "Q", "chosen": "good", "rejected": ""}, s)
    with pytest.raises(InvalidRow) as e:
        check_for_stage(conv, "dpo")
    assert e.value.reason == "empty chosen/rejected"

    k = spec(columns={"prompt": "instruction", "response": "output", "kto_tag": "label"})
    conv = row_to_conversation({"instruction": "Q", "output": "A", "label": False}, k)
    assert conv.kto_tag is False and conv.messages[-1] == Message("assistant", "A")
    check_for_stage(conv, "kto")
    with pytest.raises(InvalidRow, match="kto_tag"):
        row_to_conversation({"instruction": "Q", "output": "A", "label": "maybe"}, k)
    with pytest.raises(InvalidRow, match="kto_tag"):
        check_for_stage(row_to_conversation({"instruction": "Q", "output": "A", "label": None}, k), "kto")


def test_alpaca_bad_history_is_invalid():
    s = spec(columns={"prompt": "instruction", "response": "output", "history": "history"})
    with pytest.raises(InvalidRow) as e:
        row_to_conversation({"instruction": "Q", "output": "A", "history": [["only one"]]}, s)
    assert e.value.reason == "bad history"


# ------------------------------------------------------------------------------------------------ sharegpt

GLAIVE_STYLE = {
    "conversations": [
        {"from": "human", "value": "What's the weather in Paris?"},
        {"from": "function_call", "value": json.dumps({"name": "get_weather", "arguments": {"city": "Paris"}})},
        {"from": "observation", "value": '{"temperature": 21}'},
        {"from": "gpt", "value": "It is 21 degrees in Paris."},
    ],
    "system": "You are a weather bot.",
    "tools": json.dumps([WEATHER_TOOL]),
}


def test_sharegpt_function_call_and_observation():
    s = spec(formatting="sharegpt", columns={"messages": "conversations", "system": "system", "tools": "tools"})
    conv = row_to_conversation(GLAIVE_STYLE, s)
    assert conv.system == "You are a weather bot."
    assert conv.tools == [{"type": "function", "function": WEATHER_TOOL}]
    assert conv.messages == [
        Message("user", "What's the weather in Paris?"),
        Message("assistant", "", tool_calls=[ToolCall("get_weather", {"city": "Paris"})]),
        Message("tool", '{"temperature": 21}'),
        Message("assistant", "It is 21 degrees in Paris."),
    ]
    check_for_stage(conv, "sft")


def test_sharegpt_parallel_calls_string_arguments_and_leading_system_message():
    calls = [{"name": "a", "arguments": '{"x": 1}'}, {"name": "b", "arguments": {"y": [1, 2]}}]
    row = {"conversations": [{"from": "system", "value": "S"}, {"from": "human", "value": "go"},
                             {"from": "function_call", "value": json.dumps(calls)},
                             {"from": "observation", "value": "r"}, {"from": "gpt", "value": "done"}]}
    conv = row_to_conversation(row, spec(formatting="sharegpt"))
    assert conv.system == "S"
    assert conv.messages[1].tool_calls == [ToolCall("a", {"x": 1}), ToolCall("b", {"y": [1, 2]})]


def test_sharegpt_custom_tags_and_kto():
    # LLaMA-Factory's kto_en_demo registration
    s = spec(formatting="sharegpt", columns={"messages": "messages", "kto_tag": "label"},
             tags={"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"})
    conv = row_to_conversation({"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}],
                                "label": True}, s)
    assert conv.messages == [Message("user", "Q"), Message("assistant", "A")] and conv.kto_tag is True


def test_sharegpt_ranking():
    s = spec(formatting="sharegpt", ranking=True,
             columns={"messages": "conversations", "chosen": "chosen", "rejected": "rejected"})
    row = {"conversations": [{"from": "human", "value": "Q"}], "chosen": {"from": "gpt", "value": "good"},
           "rejected": {"from": "gpt", "value": "bad"}}
    conv = row_to_conversation(row, s)
    assert conv.messages == [Message("user", "Q")] and conv.chosen.content == "good" and conv.rejected.content == "bad"
    with pytest.raises(InvalidRow, match="role order"):  # a ranking prompt cannot end with the reply
        row_to_conversation(dict(row, conversations=[{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]), s)


@pytest.mark.parametrize("messages, reason", [
    ([{"from": "gpt", "value": "A"}, {"from": "human", "value": "Q"}], "role order"),
    ([{"from": "human", "value": "Q"}, {"from": "human", "value": "Q2"}], "role order"),
    ([{"from": "human", "value": "Q"}], "role order"),  # no reply
    ([{"from": "human", "value": "Q"}, {"from": "bot", "value": "A"}], "unknown role"),
    ([{"from": "human", "value": "Q"}, {"from": "function_call", "value": "{not json"}], "bad function_call"),
    ([{"from": "human", "value": "Q"}, {"from": "function_call", "value": '{"arguments": {}}'}], "bad function_call"),
    ([], "no messages"),
    ([{"value": "Q"}], "bad message"),
])
def test_sharegpt_invalid_rows(messages, reason):
    with pytest.raises(InvalidRow) as e:
        row_to_conversation({"conversations": messages}, spec(formatting="sharegpt"))
    assert e.value.reason == reason


# ------------------------------------------------------------------------------------------------ openai


def test_openai_tool_calls_reasoning_and_tools():
    row = {"messages": [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": None, "reasoning_content": "Two cities: two calls.", "tool_calls": [
            {"id": "1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"id": "2", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Rome"}}}]},
        {"role": "tool", "tool_call_id": "1", "content": "21"},
        {"role": "tool", "tool_call_id": "2", "content": "25"},
        {"role": "assistant", "content": [{"type": "text", "text": "Paris 21, Rome 25."}], "reasoning": "Easy."},
    ], "tools": [{"type": "function", "function": WEATHER_TOOL}]}
    conv = row_to_conversation(row, spec(formatting="openai", columns={"messages": "messages", "tools": "tools"}))
    assert conv.system == "S" and conv.tools == [{"type": "function", "function": WEATHER_TOOL}]
    assert conv.messages == [
        Message("user", "Weather in Paris and Rome?"),
        Message("assistant", "", reasoning="Two cities: two calls.",
                tool_calls=[ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_weather", {"city": "Rome"})]),
        Message("tool", "21"), Message("tool", "25"),
        Message("assistant", "Paris 21, Rome 25.", reasoning="Easy."),
    ]
    check_for_stage(conv, "sft")


@pytest.mark.parametrize("messages, reason", [
    ([{"role": "assistant", "content": "A"}], "role order"),
    ([{"role": "user", "content": "Q"}, {"role": "tool", "content": "r"}, {"role": "assistant", "content": "A"}],
     "role order"),  # a tool result needs a call before it
    ([{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}, {"role": "assistant", "content": "B"}],
     "role order"),
    ([{"role": "user", "content": "Q"}, {"role": "critic", "content": "A"}], "unknown role"),
    ([{"role": "user", "content": "Q"}, {"role": "assistant", "content": "",
      "tool_calls": [{"function": {"name": "f", "arguments": "{oops"}}]}], "bad function_call"),
    ([{"role": "user", "content": [{"type": "image_url", "image_url": "x"}]}, {"role": "assistant", "content": "A"}],
     "unsupported content"),
])
def test_openai_invalid_rows(messages, reason):
    with pytest.raises(InvalidRow) as e:
        row_to_conversation({"messages": messages}, spec(formatting="openai"))
    assert e.value.reason == reason


def test_openai_reads_llamafactory_default_column_name():
    row = {"conversations": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}
    assert len(row_to_conversation(row, spec(formatting="openai")).messages) == 2


# ------------------------------------------------------------------------------------------------ shared


def test_empty_contents_are_invalid_for_training():
    s = spec()
    with pytest.raises(InvalidRow, match="empty user message"):
        check_for_stage(row_to_conversation({"instruction": "", "input": "", "output": "A"}, s), "sft")
    with pytest.raises(InvalidRow, match="empty assistant reply"):
        check_for_stage(row_to_conversation({"instruction": "Q", "output": ""}, s), "sft")
    check_for_stage(row_to_conversation({"instruction": "Q"}, s), "ppo")  # a prompt is enough for ppo


def test_tools_shapes_and_arrow_null_padding():
    assert parse_tools("") is None and parse_tools(None) is None
    assert parse_tools(WEATHER_TOOL) == [{"type": "function", "function": WEATHER_TOOL}]
    # Arrow gives every row the union of keys, missing ones as None: those are dropped
    padded = {"name": "f", "description": None, "parameters": {"type": "object", "properties": {
        "a": {"type": "string", "enum": None}, "b": None}}}
    assert parse_tools([padded]) == [{"type": "function", "function": {
        "name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}}]
    with pytest.raises(InvalidRow, match="bad tools"):
        parse_tools("[{broken")
    with pytest.raises(InvalidRow, match="bad tools"):
        parse_tools([{"description": "no name"}])


def test_media_columns_are_carried_and_resolved_against_media_dir(tmp_path, monkeypatch):
    from PIL import Image

    (tmp_path / "media").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "media" / "img.png")
    Image.new("RGB", (8, 8)).save(tmp_path / "elsewhere.png")
    monkeypatch.chdir(tmp_path)  # a path not under media_dir is read as written (here: from the cwd)
    s = spec(formatting="sharegpt", columns={"messages": "conversations", "images": "images", "audios": "audios"})
    row = {"conversations": [{"from": "human", "value": "<image><image>What?"}, {"from": "gpt", "value": "A cat."}],
           "images": ["img.png", "elsewhere.png"], "audios": "a.wav"}
    conv = row_to_conversation(row, s, media_dir=str(tmp_path / "media"))
    assert conv.images == [str(tmp_path / "media" / "img.png"), "elsewhere.png"] and conv.audios == ["a.wav"]


def test_dump_and_load_round_trip():
    conv = row_to_conversation(GLAIVE_STYLE, spec(formatting="sharegpt", columns={
        "messages": "conversations", "system": "system", "tools": "tools"}))
    conv.kto_tag = True
    assert load_conversation(dump_conversation(conv)) == conv


def test_check_columns_names_dataset_column_and_existing_columns():
    s = spec(columns={"prompt": "question", "response": "answer"})
    check_columns(s, ["question", "answer", "extra"])
    with pytest.raises(DataError) as e:
        check_columns(s, ["question", "answr"])
    msg = str(e.value)
    assert "dataset 'x'" in msg and "'answer' (columns.response)" in msg and "question, answr" in msg
    assert "did you mean 'answr'" in msg
