"""`lmforge export`: the merged model computes exactly what base + adapter computes, in every output format,
and carries the tokenizer, chat template and an Ollama Modelfile with it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

from lmforge.config import load_config
from lmforge.errors import ConfigError
from lmforge.export import ollama_template, run_export, to_legacy_bin
from lmforge.templates import get_template

REPO = Path(__file__).resolve().parents[1]
IDS = torch.tensor([[9707, 11, 1246, 525, 498, 30, 151645, 198, 151644, 77091, 198, 3838]])


def make_adapter(base, out, seed, targets=("q_proj", "v_proj", "down_proj"), chat_template=None):
    """A LoRA adapter as training saves it: random non-zero B (so it changes the outputs) and the tokenizer
    with the chat template training used."""
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    torch.manual_seed(seed)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=list(targets)))
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(std=0.3)
    peft_model.save_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(base)
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    tokenizer.save_pretrained(out)
    return out


def logits(model_or_path):
    model = model_or_path if not isinstance(model_or_path, str | os.PathLike) else \
        AutoModelForCausalLM.from_pretrained(model_or_path, dtype=torch.float32)
    with torch.no_grad():
        return model.eval()(IDS).logits.float()


@pytest.fixture(scope="module")
def base(tiny_model):
    return tiny_model("qwen3")


@pytest.fixture(scope="module")
def chatml(base):
    """The chat template training saves when it trains with `template: chatml` (not the base model's own)."""
    return get_template("chatml", AutoTokenizer.from_pretrained(base)).chat_template()


@pytest.fixture(scope="module")
def adapter(base, chatml, tmp_path_factory):
    return make_adapter(base, tmp_path_factory.mktemp("adapter"), seed=1, chat_template=chatml)


@pytest.fixture(scope="module")
def reference(base, adapter):
    """Logits of the base with the adapter applied by PEFT (not merged)."""
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    return logits(PeftModel.from_pretrained(model, adapter))


def export(**keys):
    run_export(load_config({k: str(v) if hasattr(v, "is_dir") else v for k, v in keys.items()}, command="export"))


def test_lmforge_export_merges_lora_exactly(base, adapter, chatml, reference, tmp_path):
    out = tmp_path / "merged"
    cmd = [sys.executable, "-m", "lmforge.cli", "export", f"model_name_or_path={base}",
           f"adapter_name_or_path={adapter}", f"export_dir={out}"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr
    assert (out / "model.safetensors").is_file() and not (out / "adapter_config.json").exists()
    merged = logits(out)
    torch.testing.assert_close(merged, reference, rtol=1e-5, atol=1e-5)
    assert (merged - logits(base)).abs().max() > 1e-2  # the adapter changed the model
    # the tokenizer with the chat template the adapter folder carries, left-padded for batched generation
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert tokenizer.chat_template == chatml != AutoTokenizer.from_pretrained(base).chat_template
    assert tokenizer.padding_side == "left"
    # the Ollama Modelfile: ChatML turns translated to Go template syntax, its stop word
    modelfile = (out / "Modelfile").read_text()
    assert modelfile.count("FROM .") == 1
    assert '{{ if eq .Role "user" }}<|im_start|>user\n{{ .Content }}<|im_end|>\n' in modelfile
    assert 'PARAMETER stop "<|im_end|>"' in modelfile
    assert json.loads((out / "config.json").read_text())["dtype"] == "float32"


def test_adapters_merge_in_order_and_engine_matches_export(base, adapter, tmp_path):
    from lmforge.infer.engine import load_engine

    second = make_adapter(base, tmp_path / "second", seed=2, targets=("k_proj", "o_proj", "up_proj"))
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    expected = logits(PeftModel.from_pretrained(model, second))
    out = tmp_path / "merged2"
    export(model_name_or_path=base, adapter_name_or_path=f"{adapter},{second}", export_dir=out)
    torch.testing.assert_close(logits(out), expected, rtol=1e-5, atol=1e-5)
    # the inference engine merges the same adapters in memory: same logits, same greedy replies
    keys = {"do_sample": False, "max_new_tokens": 8}
    in_memory = load_engine(load_config({"model_name_or_path": str(base), "adapter_name_or_path": f"{adapter},{second}",
                                         **keys}, command="chat"))
    exported = load_engine(load_config({"model_name_or_path": str(out), **keys}, command="chat"))
    torch.testing.assert_close(logits(in_memory.model), expected, rtol=1e-5, atol=1e-5)
    messages = [{"role": "user", "content": "Hello, who are you?"}]
    assert in_memory.prompt(messages) == exported.prompt(messages)  # the adapter's chat template in both
    assert in_memory.chat(messages) == exported.chat(messages)


def test_legacy_format_and_dtype(base, adapter, reference, tmp_path):
    out = tmp_path / "legacy"
    export(model_name_or_path=base, adapter_name_or_path=adapter, export_dir=out, export_legacy_format=True)
    files = sorted(p.name for p in out.iterdir())
    assert "pytorch_model.bin" in files and not any(f.endswith(".safetensors") for f in files)
    torch.testing.assert_close(logits(out), reference, rtol=1e-5, atol=1e-5)
    out = tmp_path / "bf16"
    export(model_name_or_path=base, adapter_name_or_path=adapter, export_dir=out, infer_dtype="bfloat16")
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"
    bf16 = logits(out)
    assert (bf16 - reference).abs().max() < 0.1 * reference.abs().max()  # same model, bf16 rounding


def test_legacy_conversion_keeps_shards_and_index(base, tmp_path):
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    model.save_pretrained(tmp_path, max_shard_size="8MB")  # what export_size does, in GB
    assert len(list(tmp_path.glob("model-*.safetensors"))) > 1
    to_legacy_bin(tmp_path)
    assert not list(tmp_path.glob("*.safetensors*"))
    index = json.loads((tmp_path / "pytorch_model.bin.index.json").read_text())
    assert set(index["weight_map"].values()) == {p.name for p in tmp_path.glob("pytorch_model-*.bin")}
    torch.testing.assert_close(logits(tmp_path), logits(model), rtol=0, atol=0)


def test_full_model_exports_without_merge(base, tmp_path):
    out = tmp_path / "full"
    export(model_name_or_path=base, finetuning_type="full", export_dir=out, template="qwen3")
    original = AutoModelForCausalLM.from_pretrained(base).state_dict()
    exported = AutoModelForCausalLM.from_pretrained(out).state_dict()
    assert original.keys() == exported.keys()
    assert all(torch.equal(original[k], exported[k]) for k in original)
    # `template` set: it becomes the saved chat template, and its stop word an eos id of generation_config
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert tokenizer.chat_template == get_template("qwen3", tokenizer).chat_template()
    eos = json.loads((out / "generation_config.json").read_text())["eos_token_id"]
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in (eos if isinstance(eos, list) else [eos])


def test_ollama_template_only_where_the_formats_describe_the_template(tokenizer_dir):
    qwen = get_template("qwen", AutoTokenizer.from_pretrained(tokenizer_dir("qwen2.5")))
    go = ollama_template(qwen)
    assert go.startswith("{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}")
    assert go.endswith('{{ if and (ne .Role "assistant") $last }}<|im_start|>assistant\n{{ end }}{{ end }}')
    # Mistral moves the system prompt into the last user turn; Llama 3.1 adds dates to the system turn:
    # role formats cannot say that, so no TEMPLATE rather than a wrong one
    assert ollama_template(get_template("mistral", AutoTokenizer.from_pretrained(tokenizer_dir("mistral")))) is None
    assert ollama_template(get_template("llama3", AutoTokenizer.from_pretrained(tokenizer_dir("llama3")))) is None


def test_export_config_errors(base):
    with pytest.raises(ConfigError, match="export_dir is required"):
        load_config({"model_name_or_path": str(base)}, command="export")
    with pytest.raises(ConfigError, match="export_quantization_bit: quantised .* not implemented yet"):
        load_config({"model_name_or_path": str(base), "export_dir": "x", "export_quantization_bit": 4},
                    command="export")


def _train_pissa(base, out, learning_rate, convert=True):
    from lmforge.config import parse_argv
    from lmforge.train.run import run_training

    run_training(load_config(parse_argv([
        f"model_name_or_path={base}", "dataset=alpaca_en_demo", f"dataset_dir={REPO / 'data'}", "template=qwen3",
        f"output_dir={out}", "max_samples=4", "max_steps=2", "cutoff_len=64", f"learning_rate={learning_rate}",
        "lora_rank=4", "lora_target=q_proj,v_proj", "pissa_init=true", "pissa_iter=-1",
        f"pissa_convert={str(convert).lower()}", "report_to=none", "save_strategy=no",
        "disable_gradient_checkpointing=true", "use_cpu=true"])))
    return out


def _weights(folder):
    from safetensors.torch import load_file

    return load_file(folder / "model.safetensors")


def test_pissa_convert_adapter_merges_back_to_the_base_after_a_zero_lr_step(base, tmp_path):
    """PiSSA moves the principal components of each target weight into the adapter; the converted adapter fits
    the original base again, so training that changes nothing must export the base itself."""
    run = _train_pissa(base, tmp_path / "run", learning_rate=1e-30)
    assert json.loads((run / "pissa_converted" / "adapter_config.json").read_text())["r"] == 8  # 2 x lora_rank
    out = tmp_path / "merged"
    export(model_name_or_path=base, adapter_name_or_path=run / "pissa_converted", export_dir=out)
    merged, original = _weights(out), _weights(base)
    for name in ("model.layers.0.self_attn.q_proj.weight", "model.layers.1.self_attn.v_proj.weight"):
        torch.testing.assert_close(merged[name], original[name], rtol=0, atol=1e-5)
    # the unconverted adapter fits only the residual base: loading it on the base is refused, naming the fix
    with pytest.raises(ConfigError, match=r"PiSSA adapter saved unconverted.*use .*pissa_converted instead"):
        export(model_name_or_path=base, adapter_name_or_path=run, export_dir=tmp_path / "wrong")


def test_pissa_convert_adapter_equals_the_trained_residual_model(base, tmp_path):
    """After real steps: merged weight == residual (W - s B0 A0) + trained s B1 A1, from the saved adapters."""
    from safetensors.torch import load_file

    run = _train_pissa(base, tmp_path / "run", learning_rate=1e-2)
    out = tmp_path / "merged"
    export(model_name_or_path=base, adapter_name_or_path=run / "pissa_converted", export_dir=out)
    merged, original = _weights(out), _weights(base)
    init, trained = (load_file(p / "adapter_model.safetensors") for p in (run / "pissa_init", run))
    scale = 8 / 4  # lora_alpha (2 x rank) / rank
    name = "model.layers.1.self_attn.q_proj"
    a, b = f"base_model.model.{name}.lora_A.weight", f"base_model.model.{name}.lora_B.weight"
    expected = original[f"{name}.weight"] - scale * init[b] @ init[a] + scale * trained[b] @ trained[a]
    assert not torch.allclose(trained[b], init[b])  # it trained
    torch.testing.assert_close(merged[f"{name}.weight"], expected, rtol=0, atol=1e-5)


def test_pissa_convert_needs_pissa_init(base):
    with pytest.raises(ConfigError, match="pissa_convert: true without pissa_init"):
        load_config({"model_name_or_path": str(base), "dataset": "x", "pissa_convert": True}, command="train")
