"""Model-loading keys that used to be accepted and ignored: each now acts (as LLaMA-Factory) or is refused."""

import importlib.util
import logging
import math

import pytest
import torch
from safetensors.torch import load_file

from lmforge.config import load_config, parse_argv
from lmforge.errors import ConfigError
from lmforge.models.adapters import apply_finetuning
from lmforge.models.loader import load_model, load_tokenizer, quantized_placement


def _cfg(path, *extra, command="train"):
    return load_config(parse_argv([f"model_name_or_path={path}", "dataset=unused", "output_dir=/tmp/unused",
                                   "use_cpu=true", *extra]), command=command)


def _load(path, *extra, trainable=False):
    cfg = _cfg(path, *extra)
    tokenizer = load_tokenizer(cfg.model)
    return cfg, tokenizer, load_model(cfg, tokenizer, trainable=trainable)


# ---------------------------------------------------------------------------------------------------------
# new tokens: new_special_tokens_config, init_special_tokens, add_tokens / add_special_tokens


@pytest.fixture
def descriptions(tmp_path):
    file = tmp_path / "tokens.yaml"
    file.write_text("'<|plan|>': the plan of the answer\n'<|check|>': verify the result\n", encoding="utf-8")
    return file


@pytest.mark.parametrize("arch", ["qwen3", "llama"])  # tied and untied output head
def test_desc_init_starts_each_new_row_at_the_mean_of_its_description(tiny_model, descriptions, arch):
    path = tiny_model(arch)
    original = load_file(path / "model.safetensors")
    _, tokenizer, model = _load(path, f"new_special_tokens_config={descriptions}", "init_special_tokens=desc_init",
                                "add_special_tokens=<|ignored|>")
    assert "<|ignored|>" not in tokenizer.get_vocab()  # the config's tokens replace add_special_tokens
    plan = tokenizer.convert_tokens_to_ids("<|plan|>")
    assert tokenizer.decode([plan]) == "<|plan|>" and plan in tokenizer.all_special_ids
    desc = tokenizer("the plan of the answer", add_special_tokens=False)["input_ids"]
    embed = model.get_input_embeddings().weight
    assert embed.shape[0] % 64 == 0 and embed.shape[0] >= len(tokenizer)
    expected = original["model.embed_tokens.weight"][desc].mean(dim=0)
    torch.testing.assert_close(embed[plan], expected)
    if arch == "llama":  # the untied head's row from the head's own rows
        head = model.get_output_embeddings().weight
        torch.testing.assert_close(head[plan], original["lm_head.weight"][desc].mean(dim=0))
    # the rows the checkpoint had stay as they were
    torch.testing.assert_close(embed[:original["model.embed_tokens.weight"].shape[0]],
                               original["model.embed_tokens.weight"])


def test_noise_init_is_the_mean_plus_noise_of_std_one_over_sqrt_hidden(tiny_model):
    path = tiny_model("llama")
    original = load_file(path / "model.safetensors")["model.embed_tokens.weight"]
    torch.manual_seed(0)
    tokens = [f"<new{i}>" for i in range(8)]
    # <|eot_id|> is in the vocabulary already: it is not "new" and keeps its row
    _, tokenizer, model = _load(path, f"add_tokens={','.join(tokens[:4])}",
                                f"add_special_tokens={','.join(tokens[4:])},<|eot_id|>")
    ids = tokenizer.convert_tokens_to_ids(tokens)
    rows = model.get_input_embeddings().weight[ids].detach()
    noise = rows - original.mean(dim=0)
    hidden = original.shape[1]
    assert abs(noise.std().item() * math.sqrt(hidden) - 1) < 0.25, noise.std()
    assert abs(noise.mean().item()) < 0.1
    eot = tokenizer.convert_tokens_to_ids("<|eot_id|>")
    torch.testing.assert_close(model.get_input_embeddings().weight[eot], original[eot])


def test_desc_init_w_noise_adds_the_noise_to_the_description_mean(tiny_model, descriptions):
    path = tiny_model("qwen3")
    original = load_file(path / "model.safetensors")["model.embed_tokens.weight"]
    _, tokenizer, model = _load(path, f"new_special_tokens_config={descriptions}",
                                "init_special_tokens=desc_init_w_noise")
    check = tokenizer.convert_tokens_to_ids("<|check|>")
    desc = tokenizer("verify the result", add_special_tokens=False)["input_ids"]
    noise = model.get_input_embeddings().weight[check].detach() - original[desc].mean(dim=0)
    assert 0.3 < noise.std().item() * math.sqrt(original.shape[1]) < 2  # present, of the stated size


@pytest.mark.parametrize("arch", ["qwen3", "llama"])
def test_lora_with_new_tokens_trains_and_saves_the_embeddings(tiny_model, tmp_path, arch):
    cfg, tokenizer, model = _load(tiny_model(arch), "add_special_tokens=<|new|>", trainable=True)
    model = apply_finetuning(model, cfg)
    assert "embed_tokens" in {m.split(".")[-1] for m in model.peft_config["default"].modules_to_save}
    with torch.no_grad():  # stands in for training the embedding
        for name, p in model.named_parameters():
            if "embed_tokens.modules_to_save" in name:
                p.add_(1.0)
    model.save_pretrained(tmp_path / "adapter")
    saved = load_file(tmp_path / "adapter" / "adapter_model.safetensors")
    embed, head = (next(v for k, v in saved.items() if f"{m}.modules_to_save" in k) for m in ("embed_tokens", "lm_head"))
    assert embed.shape[0] >= len(tokenizer)
    # a tied head is the trained embedding itself; an untied one is its own matrix
    assert torch.equal(embed, head) is (arch == "qwen3")


def test_special_token_config_errors(tiny_model, tmp_path):
    path = tiny_model("qwen3")
    with pytest.raises(ConfigError, match="init_special_tokens: desc_init .* new_special_tokens_config"):
        _cfg(path, "init_special_tokens=desc_init")
    with pytest.raises(ConfigError, match="new_special_tokens_config: '.*missing.yaml' is not a file"):
        _cfg(path, f"new_special_tokens_config={tmp_path / 'missing.yaml'}")
    (tmp_path / "list.yaml").write_text("- <a>\n- <b>\n")
    with pytest.raises(ConfigError, match="must map each token to a description"):
        _cfg(path, f"new_special_tokens_config={tmp_path / 'list.yaml'}")


# ---------------------------------------------------------------------------------------------------------
# generation and placement


def test_use_kv_cache_reaches_generation(tiny_model):
    path = tiny_model("qwen3")
    ids = torch.tensor([[9707, 11, 1246, 525, 498, 30]])
    replies = {}
    for flag in (True, False):
        _, _, model = _load(path, f"use_kv_cache={str(flag).lower()}")
        assert model.generation_config.use_cache is flag
        with torch.no_grad():
            out = model(ids)
        assert (out.past_key_values is not None) is flag
        replies[flag] = model.generate(ids, max_new_tokens=6, do_sample=False).tolist()
    assert replies[True] == replies[False]  # the cache changes the cost, not the tokens


def test_quantization_device_map_and_offload_folder(tiny_model, tmp_path):
    path = tiny_model("llama")
    cfg = _cfg(path, "quantization_bit=4", "quantization_device_map=auto", f"offload_folder={tmp_path / 'off'}")
    assert quantized_placement(cfg.model) == {"device_map": "auto", "offload_folder": str(tmp_path / "off")}
    here = "cuda:0" if torch.cuda.is_available() else "cpu"  # this process's device
    assert quantized_placement(_cfg(path, "quantization_bit=4").model) == {"device_map": {"": here}}
    if importlib.util.find_spec("bitsandbytes") is not None:  # the keyword arguments load a real 4-bit model
        model = load_model(cfg, load_tokenizer(cfg.model), trainable=False)
        assert type(model.model.layers[0].self_attn.q_proj).__name__ == "Linear4bit"
    with pytest.raises(ConfigError, match="quantization_device_map: auto with quantization_bit: 8"):
        _cfg(path, "quantization_bit=8", "quantization_device_map=auto")
    with pytest.raises(ConfigError, match="quantization_device_map: auto with quantization_bit: None"):
        _cfg(path, "quantization_device_map=auto")
    with pytest.raises(ConfigError, match="offload_folder: '/x' is used only with quantization_device_map: auto"):
        _cfg(path, "offload_folder=/x")
    _cfg(path, "offload_folder=offload")  # its default, as a resolved config states it


def test_use_kv_cache_false_is_refused_for_engines_that_always_cache(tiny_model):
    with pytest.raises(ConfigError, match="use_kv_cache: false with infer_backend: vllm"):
        _cfg(tiny_model("qwen3"), "use_kv_cache=false", "infer_backend=vllm")


# ---------------------------------------------------------------------------------------------------------
# refused until implemented; LoRA keys outside LoRA


@pytest.mark.parametrize("key,value", [
    ("video_max_pixels", "1000"), ("video_min_pixels", "64"), ("video_fps", "1"), ("video_maxlen", "8"),
    ("use_audio_in_video", "true"), ("audio_sampling_rate", "8000")])
def test_video_and_audio_keys_are_refused_unless_at_their_defaults(tiny_model, key, value):
    with pytest.raises(ConfigError, match=f"^{key}: video and audio inputs are not implemented in lmforge yet"):
        _cfg(tiny_model("qwen3"), f"{key}={value}")


def test_image_keys_are_accepted(tiny_model):
    """Images are implemented (Qwen2-VL / Qwen2.5-VL, tests/media); video keys at their defaults pass too."""
    _cfg(tiny_model("qwen3"), "image_max_pixels=1000", "image_min_pixels=64", "freeze_vision_tower=false",
         "freeze_multi_modal_projector=false", "freeze_language_model=true", "media_dir=media", "video_fps=2.0")


def test_ignore_pad_token_for_loss_false_is_refused(tiny_model):
    _cfg(tiny_model("qwen3"), "ignore_pad_token_for_loss=true")
    with pytest.raises(ConfigError, match="^ignore_pad_token_for_loss: lmforge always leaves padding out"):
        _cfg(tiny_model("qwen3"), "ignore_pad_token_for_loss=false")


def test_lora_keys_with_full_or_freeze_warn_once_naming_them(tiny_model, caplog):
    path = tiny_model("qwen3")
    with caplog.at_level(logging.WARNING, logger="lmforge"):
        for _ in range(2):
            _cfg(path, "finetuning_type=full", "lora_rank=16", "lora_target=q_proj", "use_dora=true")
        _cfg(path, "finetuning_type=freeze", "lora_alpha=16")  # 2 x rank, as a resolved config states it
        _cfg(path, "finetuning_type=lora", "lora_rank=16")
    warnings = [r.getMessage() for r in caplog.records if "LoRA keys" in r.getMessage()]
    assert warnings == ["finetuning_type: full trains no adapter, so these LoRA keys have no effect: "
                        "lora_rank, lora_target, use_dora"]
