"""LLaMA-Factory's multimodal dataset forms through lmforge's data pipeline with the qwen2_vl plugin:
`<image>` placeholders become the family's tokens (no loss on them), image paths ride along for the
collator, and bad rows (counts, missing / unreadable files) and text-only templates are named clearly."""

import json
import sys
from pathlib import Path

import pytest
from PIL import Image
from transformers import AutoImageProcessor, AutoTokenizer

from lmforge.config import load_config, parse_argv
from lmforge.data.encoding import IGNORE_INDEX
from lmforge.data.loader import STRICT_ENV, load_datasets
from lmforge.errors import DataError
from lmforge.media.qwen2_vl import IMAGE_PAD, VISION_END, VISION_START, Qwen2VLPlugin
from lmforge.templates import get_template

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="module")
def tok(tokenizer_dir):
    return AutoTokenizer.from_pretrained(tokenizer_dir("qwen2.5"))


@pytest.fixture(scope="module")
def plugin():
    return Qwen2VLPlugin.from_image_processor(AutoImageProcessor.from_pretrained(FIXTURES, backend="pil"),
                                             image_max_pixels=768 * 768, image_min_pixels=32 * 32)


def _cfg(tmp_path, dataset_dir, dataset, template="qwen2_vl", *extra):
    return load_config(parse_argv([f"model_name_or_path={tmp_path}", "stage=sft", f"template={template}",
                                   f"dataset={dataset}", f"dataset_dir={dataset_dir}",
                                   f"output_dir={tmp_path / 'out'}", "report_to=none", "overwrite_cache=true",
                                   *extra]))


def _registry(root: Path, rows: list[dict], formatting="sharegpt") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "d.json").write_text(json.dumps(rows))
    entry = {"file_name": "d.json", "formatting": formatting, "columns": {"images": "images"}}
    if formatting == "alpaca":  # a listed `columns` reads only what it lists
        entry["columns"].update(prompt="instruction", query="input", response="output")
    if formatting == "sharegpt":
        entry["columns"]["messages"] = "messages"
        entry["tags"] = {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                         "assistant_tag": "assistant"}
    (root / "dataset_info.json").write_text(json.dumps({"d": entry}))
    return root


def test_mllm_demo_encodes_with_vision_tokens_and_no_loss_on_them(tmp_path, tok, plugin):
    cfg = _cfg(tmp_path, REPO / "data", "mllm_demo")
    template = get_template("qwen2_vl", tok)
    train = load_datasets(cfg, tok, template, "sft", plugin).train
    rows = json.loads((REPO / "data" / "mllm_demo.json").read_text())
    assert len(train) == len(rows) == 6
    pad = tok.convert_tokens_to_ids(IMAGE_PAD)
    for row, enc in zip(rows, train, strict=True):
        sizes = [Image.open(REPO / "data" / p).size for p in row["images"]]
        assert enc["images"] == [str(REPO / "data" / p) for p in row["images"]]
        assert enc["input_ids"].count(pad) == sum(plugin.num_tokens(*s) for s in sizes) > 0
        assert enc["input_ids"].count(tok.convert_tokens_to_ids(VISION_START)) == len(sizes)
        assert enc["input_ids"].count(tok.convert_tokens_to_ids(VISION_END)) == len(sizes)
        vision = {pad, tok.convert_tokens_to_ids(VISION_START), tok.convert_tokens_to_ids(VISION_END)}
        assert all(label == IGNORE_INDEX for i, label in zip(enc["input_ids"], enc["labels"], strict=True)
                   if i in vision)
        assert any(label != IGNORE_INDEX for label in enc["labels"])
        assert "<image>" not in tok.decode(enc["input_ids"])


def test_alpaca_rows_with_images_and_media_dir(tmp_path, tok, plugin):
    media = tmp_path / "media"
    media.mkdir()
    Image.new("RGB", (100, 60), "red").save(media / "a.png")
    root = _registry(tmp_path / "data", [{"instruction": "<image>Colour?", "input": "", "output": "red",
                                          "images": ["a.png"]}], formatting="alpaca")
    cfg = _cfg(tmp_path, root, "d", "qwen2_vl", f"media_dir={media}")
    train = load_datasets(cfg, tok, get_template("qwen2_vl", tok), "sft", plugin).train
    assert train[0]["images"] == [str(media / "a.png")]
    assert train[0]["input_ids"].count(tok.convert_tokens_to_ids(IMAGE_PAD)) == plugin.num_tokens(100, 60)


def _strict_error(tmp_path, rows, tok, plugin, monkeypatch) -> str:
    monkeypatch.setenv(STRICT_ENV, "1")
    root = _registry(tmp_path / "data", rows)
    with pytest.raises(DataError) as e:
        load_datasets(_cfg(tmp_path, root, "d"), tok, get_template("qwen2_vl", tok), "sft", plugin)
    return str(e.value)


def _row(content: str, images: list[str]) -> dict:
    return {"messages": [{"role": "user", "content": content}, {"role": "assistant", "content": "ok"}],
            "images": images}


def test_placeholder_count_mismatch_names_dataset_row_and_counts(tmp_path, tok, plugin, monkeypatch):
    (tmp_path / "data").mkdir()
    Image.new("RGB", (40, 40), "blue").save(tmp_path / "data" / "b.png")
    message = _strict_error(tmp_path, [_row("<image>ok?", ["b.png"]), _row("<image><image> two?", ["b.png"])],
                            tok, plugin, monkeypatch)
    assert "'d'" in message and "(rows 1;" in message
    assert "2 <image> placeholder(s) in the text but 1 image(s) in 'images'" in message


def test_missing_and_unreadable_files_are_named(tmp_path, tok, plugin, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "broken.png").write_bytes(b"not a png")
    message = _strict_error(tmp_path, [_row("<image>?", ["nowhere.png"])], tok, plugin, monkeypatch)
    assert "(rows 0;" in message and "images[0]" in message and "image file not found: 'nowhere.png'" in message
    message = _strict_error(tmp_path, [_row("<image>?", ["broken.png"])], tok, plugin, monkeypatch)
    assert "(rows 0;" in message and "image file cannot be read" in message and "broken.png" in message


def test_skipped_not_strict_keeps_the_good_rows(tmp_path, tok, plugin):
    (tmp_path / "data").mkdir()
    Image.new("RGB", (40, 40), "blue").save(tmp_path / "data" / "b.png")
    root = _registry(tmp_path / "data", [_row("<image>one", ["b.png"]), _row("<image>two", ["gone.png"])])
    train = load_datasets(_cfg(tmp_path, root, "d"), tok, get_template("qwen2_vl", tok), "sft", plugin).train
    assert len(train) == 1


def test_text_only_template_refuses_images(tmp_path, tok):
    with pytest.raises(DataError, match=r"'mllm_demo'.*column 'images' \(columns.images\) holds images, but "
                                        r"template 'qwen' is text-only"):
        load_datasets(_cfg(tmp_path, REPO / "data", "mllm_demo", "qwen"), tok, get_template("qwen", tok), "sft")


def test_template_renders_as_the_official_qwen2_5_vl_template(tok, plugin):
    """Text layout == the official jinja given image content parts, with one pad per image (the processor
    then expands the pad; our plugin writes the expanded form directly)."""
    from lmforge.data.conversation import Conversation, Message
    from lmforge.templates.core import OFFICIAL_DIR

    official = (OFFICIAL_DIR / "qwen2.5-vl.jinja").read_text()
    template = get_template("qwen2_vl", tok)
    one_pad = VISION_START + IMAGE_PAD + VISION_END
    for system in (None, "Be brief."):
        conv = Conversation([Message("user", "<image>What is it?"), Message("assistant", "A cat."),
                             Message("user", "And <image>?"), Message("assistant", "A dog.")], system=system)
        ours = "".join(s.text for s in template.render(conv)).replace("<image>", one_pad)
        messages = [] if system is None else [{"role": "system", "content": system}]
        for m in conv.messages:
            if m.role == "user":
                before, after = m.content.split("<image>")
                parts = [{"type": "text", "text": before}] if before else []
                parts += [{"type": "image"}, {"type": "text", "text": after}]
                messages.append({"role": "user", "content": parts})
            else:
                messages.append({"role": "assistant", "content": m.content})
        assert ours == tok.apply_chat_template(messages, chat_template=official, tokenize=False)


def test_mllm_demo_is_what_its_generator_writes(tmp_path):
    """data/mllm_demo.json and its images are reproducible from data/mllm_demo_data/make.py (images compared
    by pixels: PNG bytes may differ between zlib versions)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_mllm_demo", REPO / "data" / "mllm_demo_data" / "make.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--out", str(tmp_path)])
    data = REPO / "data"
    assert (tmp_path / "mllm_demo.json").read_bytes() == (data / "mllm_demo.json").read_bytes()
    names = sorted(p.name for p in (tmp_path / "mllm_demo_data").iterdir())
    assert names == ["1.png", "2.png", "3.png"]
    for name in names:
        ours, committed = (Image.open(d / "mllm_demo_data" / name) for d in (tmp_path, data))
        assert ours.size == committed.size and ours.tobytes() == committed.tobytes()
