"""The tool format a model was trained with travels with it: training with `template: chatml` (a family without
a tool format) and `tool_format: qwen` saves that choice with the adapter and every checkpoint, `lmforge export`
keeps it, and serving the export with `template` unset renders and parses tools as training did. A model that
has no tool format answers a request with tools with a 400 that names the fix, never with the tools dropped."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from lmforge.config import load_config, parse_argv
from lmforge.data.conversation import Conversation, Message, ToolCall
from lmforge.templates import get_template

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/e2e/helpers
from e2e.helpers import lmforge  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
ASK = [{"role": "user", "content": "Weather in Paris?"}]


def _train_and_export(root: Path, base: Path, *keys: str) -> tuple[Path, Path]:
    out, export = root / "run", root / "export"
    train = lmforge("train", f"model_name_or_path={base}", "stage=sft", "do_train=true", "finetuning_type=lora",
                    "dataset=glaive_toolcall_en_demo", f"dataset_dir={REPO / 'data'}", "template=chatml",
                    "cutoff_len=192", "max_samples=4", "per_device_train_batch_size=2", "max_steps=2",
                    "save_steps=1", "learning_rate=1e-4", "report_to=none", f"output_dir={out}", *keys,
                    cwd=root)
    assert train.returncode == 0, train.stderr[-3000:]
    done = lmforge("export", f"model_name_or_path={base}", f"adapter_name_or_path={out}", f"export_dir={export}",
                   *keys, cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, export


@pytest.fixture(scope="module")
def trained(tiny_model, tmp_path_factory):
    return _train_and_export(tmp_path_factory.mktemp("tools"), tiny_model("qwen3"), "tool_format=qwen")


def test_adapter_checkpoints_and_export_carry_the_tool_format(trained):
    out, export = trained
    folders = [out, *sorted(out.glob("checkpoint-*")), export]
    assert len(folders) == 4
    for folder in folders:
        template = get_template(None, AutoTokenizer.from_pretrained(folder))
        assert (template.name, template.tool_format.name) == ("chatml", "qwen"), folder
    # the observation has the user turn's role marker, in the Modelfile too; num_ctx is the training cutoff_len
    modelfile = (export / "Modelfile").read_text()
    assert '{{ else if eq .Role "tool" }}<|im_start|>user\n{{ .Content }}<|im_end|>\n' in modelfile
    assert "PARAMETER num_ctx 192" in modelfile


def test_served_export_renders_and_parses_tools_with_template_unset(trained):
    from fastapi.testclient import TestClient

    from lmforge.infer.api import create_app
    from lmforge.infer.engine import load_engine

    _, export = trained
    engine = load_engine(load_config(parse_argv([f"model_name_or_path={export}", "do_sample=false",
                                                 "max_new_tokens=4"]), command="chat"))
    assert engine.template.tool_format.name == "qwen"
    prompt = engine.prompt(ASK, tools=[WEATHER])
    assert "<tools>" in prompt and '"get_weather"' in prompt
    conv = Conversation([Message("user", "Weather?"), Message("assistant", "", tool_calls=[
        ToolCall("get_weather", {"city": "Paris"})]), Message("tool", "18C")], tools=[WEATHER])
    assert "<|im_start|>user\n18C<|im_end|>\n<|im_start|>assistant\n" in engine.prompt(conv)
    reply = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    assert engine.template.parse_tool_calls(reply) == ("", [ToolCall("get_weather", {"city": "Paris"})])
    with TestClient(create_app(engine)) as client:
        r = client.post("/v1/chat/completions", json={"model": "m", "messages": ASK, "tools": [WEATHER]})
    assert r.status_code == 200, r.text


def test_tools_without_a_tool_format_are_a_400_not_dropped(tiny_model, tmp_path):
    """The base model's tokenizer carries a chat template without tool markers and nothing saved: a request
    with tools must not be answered as if it had none."""
    from fastapi.testclient import TestClient

    from lmforge.infer.api import create_app
    from lmforge.infer.engine import load_engine

    base = tiny_model("qwen3")
    folder = tmp_path / "plain"
    tok = AutoTokenizer.from_pretrained(base)
    tok.chat_template = get_template("chatml", tok).chat_template()  # ChatML: no tool format to sniff
    tok.save_pretrained(folder)
    for name in ("config.json", "generation_config.json", "model.safetensors"):
        (folder / name).write_bytes((base / name).read_bytes())
    engine = load_engine(load_config(parse_argv([f"model_name_or_path={folder}", "max_new_tokens=2"]),
                                     command="chat"))
    with TestClient(create_app(engine)) as client:
        r = client.post("/v1/chat/completions", json={"model": "m", "messages": ASK, "tools": [WEATHER]})
        assert r.status_code == 400 and "tool_format" in r.json()["error"]["message"], r.text
        plain = client.post("/v1/chat/completions", json={"model": "m", "messages": ASK})
        assert plain.status_code == 200


def test_modelfile_tool_branch_only_with_a_role_marker(tokenizer_dir):
    """phi has no tool role: without a tool format its results would be bare text, so the Modelfile has no
    tool branch; with one they are user turns, and the branch says so."""
    from lmforge.export import ollama_modelfile

    tok = AutoTokenizer.from_pretrained(tokenizer_dir("phi3"))
    assert 'eq .Role "tool"' not in ollama_modelfile(get_template("phi", tok), tok)
    with_tools = ollama_modelfile(get_template("phi", tok, tool_format="qwen"), tok, num_ctx=4096)
    assert '{{ else if eq .Role "tool" }}<|user|>\n{{ .Content }}<|end|>\n' in with_tools
    assert with_tools.rstrip().endswith("PARAMETER num_ctx 4096")


def test_num_ctx_comes_from_the_full_fine_tune_folder_too(tmp_path, tiny_model):
    from lmforge.export import trained_cutoff_len

    base = tiny_model("qwen3")
    cfg = load_config(parse_argv([f"model_name_or_path={base}", f"export_dir={tmp_path / 'x'}"]), command="export")
    assert trained_cutoff_len(cfg) is None  # the tiny model was not trained by lmforge
    full = tmp_path / "full"
    full.mkdir()
    (full / "lmforge_config.yaml").write_text("# Resolved by lmforge\ncutoff_len: 3072\nstage: sft\n")
    cfg = load_config(parse_argv([f"model_name_or_path={full}", f"export_dir={tmp_path / 'x'}"]), command="export")
    assert trained_cutoff_len(cfg) == 3072
