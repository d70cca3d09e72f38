"""The README quickstart, as a user runs it: `lmforge train examples/quickstart.yaml` trains LoRA on the
identity demo offline, then `lmforge chat` with the adapter answers the identity questions it learned."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import lmforge, read_log

REPO = Path(__file__).resolve().parents[2]
FILLED = REPO / "examples" / "quickstart_data" / "identity.json"
QUESTIONS = ["hi", "Hello!", "Hi there", "Greetings", "Introduce yourself."]

pytestmark = pytest.mark.slow


@pytest.mark.timeout(2400)  # ~2 minutes on a free 2-core CPU; generous for a loaded machine
def test_quickstart_trains_then_chats(tmp_path):
    out = tmp_path / "quickstart"
    train = lmforge("train", "examples/quickstart.yaml", f"output_dir={out}", cwd=REPO, timeout=1800)
    assert train.returncode == 0, train.stderr[-4000:]
    steps = [e for e in read_log(out) if "loss" in e]
    assert steps[0]["loss"] > 5 and steps[-1]["loss"] < 0.5  # from chance level to memorised
    for name in ("adapter_model.safetensors", "adapter_config.json", "tokenizer_config.json",
                 "chat_template.jinja", "lmforge_config.yaml", "training_loss.png", "trainer_log.jsonl"):
        assert (out / name).is_file(), name

    script = "".join(f"{q}\nclear\n" for q in QUESTIONS) + "exit\n"
    chat = subprocess.run(
        [sys.executable, "-m", "lmforge.cli", "chat", "model_name_or_path=examples/tiny-phi3",
         f"adapter_name_or_path={out}", "do_sample=false", "max_new_tokens=60"],
        input=script, capture_output=True, text=True, cwd=REPO, timeout=900)
    assert chat.returncode == 0, chat.stderr[-3000:]
    replies = [line.removeprefix("Assistant: ") for line in chat.stdout.splitlines()
               if line.startswith("Assistant: ")]
    assert len(replies) == len(QUESTIONS), chat.stdout
    taught = {row["instruction"]: row["output"] for row in json.loads(FILLED.read_text(encoding="utf-8"))}
    exact = [q for q, r in zip(QUESTIONS, replies, strict=True) if r.strip() == taught[q].strip()]
    assert not any("{{" in r for r in replies), replies  # the placeholders of LLaMA-Factory's file are filled
    assert sum("Anvil" in r for r in replies) >= 3, replies  # the first thing a user sees: its new name
    assert len(exact) >= 2, list(zip(QUESTIONS, replies, strict=True))


def test_the_quickstart_data_is_identity_json_with_the_names_filled():
    # the copy cannot drift from data/identity.json (LLaMA-Factory's, kept unchanged for LF configs)
    original = json.loads((REPO / "data" / "identity.json").read_text(encoding="utf-8"))
    assert any("{{name}}" in row["output"] for row in original)
    fill = {"{{name}}": "Anvil", "{{author}}": "lmforge"}
    expected = [{k: v.replace("{{name}}", fill["{{name}}"]).replace("{{author}}", fill["{{author}}"])
                 for k, v in row.items()} for row in original]
    assert json.loads(FILLED.read_text(encoding="utf-8")) == expected
    registry = json.loads((FILLED.parent / "dataset_info.json").read_text())
    assert registry == {"identity": {"file_name": "identity.json"}}
