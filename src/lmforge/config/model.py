"""Which model to load, and how: precision, attention, kernels, quantisation, export, inference backends."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lmforge.config.fields import arg
from lmforge.errors import ConfigError

_LATER = "not implemented in lmforge yet"
MULTIMODAL = ("video and audio inputs are not implemented in lmforge yet (images are, on Qwen2-VL / Qwen2.5-VL "
              "with template: qwen2_vl; see docs/multimodal.md)")


@dataclass
class ModelArguments:
    model_name_or_path: str | None = arg(None, "Local path or hub id of the model to fine-tune or serve.")
    adapter_name_or_path: list[str] | None = arg(
        None, "Adapter path(s) or hub id(s) to load on top of the model, comma separated; applied in order.")
    adapter_folder: str | None = arg(None, "Folder holding the adapter weights inside adapter_name_or_path.")
    cache_dir: str | None = arg(None, "Where downloaded models and tokenizers are cached.")
    use_fast_tokenizer: bool = arg(True, "Use the fast (Rust) tokenizer.")
    resize_vocab: bool = arg(False, "Resize the token embeddings to the tokenizer's length (after adding tokens).")
    split_special_tokens: bool = arg(False, "Tokenize special tokens in the text as plain text.")
    add_tokens: list[str] | None = arg(None, "Ordinary tokens to add to the tokenizer, comma separated.")
    add_special_tokens: list[str] | None = arg(None, "Special tokens to add to the tokenizer, comma separated.")
    new_special_tokens_config: str | None = arg(
        None, "YAML file mapping each new special token to a description ({'<token>': 'text', ...}); its tokens "
        "replace add_special_tokens, and desc_init initialises each from its description.")
    init_special_tokens: str = arg(
        "noise_init", "How the embedding rows of added tokens start: noise_init = mean of the existing rows plus "
        "Gaussian noise (std 1/sqrt(hidden)); desc_init = mean of the rows of the description's tokens; "
        "desc_init_w_noise = desc_init plus that noise.", choices=["noise_init", "desc_init", "desc_init_w_noise"])
    model_revision: str = arg("main", "Model revision on the hub: branch, tag or commit.")
    low_cpu_mem_usage: bool = arg(True, "Load the model with low peak CPU memory.")
    rope_scaling: str | None = arg(None, "RoPE scaling for longer context.",
                                   choices=["linear", "dynamic", "yarn", "llama3"])
    flash_attn: str = arg("auto", "Attention implementation: auto picks the fastest installed; disabled = eager.",
                          choices=["auto", "disabled", "eager", "sdpa", "fa2", "fa3", "flex"])
    shift_attn: bool = arg(False, "Shift short attention (S^2-Attn) of LongLoRA.", unsupported=_LATER)
    mixture_of_depths: str | None = arg(None, "Mixture-of-depths conversion.", unsupported=_LATER)
    use_unsloth: bool = arg(False, "Unsloth's fast path (LLaMA-Factory's key): lmforge maps it to its own: the "
                            "default-on lean/fused LoRA and fused head + cross-entropy, plus offloaded gradient "
                            "checkpointing (use_unsloth_gc), as Unsloth's 'unsloth' checkpointing, unless "
                            "checkpointing is off. Unsloth itself is not used.")
    use_unsloth_gc: bool = arg(False, "Offloaded gradient checkpointing (Unsloth's name): each layer's saved "
                               "input waits in pinned CPU memory instead of on the GPU (lmforge's own code).")
    offload_embedding: bool = arg(False, "Keep the frozen input embedding table in CPU memory (lmforge): saves "
                                  "vocab x hidden x 2 bytes of GPU memory; for untied models with a frozen "
                                  "embedding (LoRA).")
    enable_liger_kernel: bool = arg(False, "Use Liger kernels (RMSNorm, RoPE, SwiGLU, fused linear cross-entropy).")
    moe_aux_loss_coef: float | None = arg(None, "Coefficient of the MoE router auxiliary loss.")
    disable_gradient_checkpointing: bool = arg(False, "Turn off gradient checkpointing (on by default in training).")
    use_reentrant_gc: bool = arg(True, "Use reentrant gradient checkpointing.")
    upcast_layernorm: bool = arg(False, "Keep layer norms in float32.")
    upcast_lmhead_output: bool = arg(False, "Compute the lm_head output in float32.")
    train_from_scratch: bool = arg(False, "Initialise the model randomly from its config instead of its weights.")
    infer_backend: str = arg("huggingface", "Inference engine.", choices=["huggingface", "vllm", "sglang"])
    offload_folder: str = arg("offload", "Folder for weights offloaded to disk.")
    use_kv_cache: bool = arg(True, "Use the KV cache in generation.")
    infer_dtype: str = arg("auto", "Dtype for inference and export.",
                           choices=["auto", "float16", "bfloat16", "float32"])
    hf_hub_token: str | None = arg(None, "Token for the Hugging Face hub.")
    ms_hub_token: str | None = arg(None, "Token for the ModelScope hub.")
    print_param_status: bool = arg(False, "Print every parameter's name, shape, dtype and trainability.")
    trust_remote_code: bool = arg(False, "Allow code from the model repository to run.")
    # quantisation
    quantization_method: str = arg("bnb", "Quantisation method for QLoRA / loading.",
                                   choices=["bnb", "gptq", "awq", "aqlm", "quanto", "eetq", "hqq"])
    quantization_bit: int | None = arg(None, "Quantise the model to this many bits on the fly (QLoRA).",
                                       choices=[None, 2, 3, 4, 5, 6, 8])
    quantization_type: str = arg("nf4", "4-bit data type of bitsandbytes.", choices=["nf4", "fp4"])
    double_quantization: bool = arg(True, "Double quantisation in bitsandbytes 4-bit.")
    quantization_device_map: str | None = arg(None, "Device map for quantised models.", choices=[None, "auto"])
    # multimodal processors (accepted at their defaults for compatibility; multimodal training arrives later)
    image_max_pixels: int = arg(768 * 768, "Maximum pixels of an image input (larger ones are scaled down).")
    image_min_pixels: int = arg(32 * 32, "Minimum pixels of an image input (smaller ones are scaled up).")
    video_max_pixels: int = arg(256 * 256, "Maximum pixels of a video frame.", unsupported=MULTIMODAL)
    video_min_pixels: int = arg(16 * 16, "Minimum pixels of a video frame.", unsupported=MULTIMODAL)
    video_fps: float = arg(2.0, "Frames per second sampled from videos.", unsupported=MULTIMODAL)
    video_maxlen: int = arg(128, "Maximum frames sampled from a video.", unsupported=MULTIMODAL)
    use_audio_in_video: bool = arg(False, "Use the audio track of videos.", unsupported=MULTIMODAL)
    audio_sampling_rate: int = arg(16000, "Audio sampling rate.", unsupported=MULTIMODAL)
    # export
    export_dir: str | None = arg(None, "Where `lmforge export` writes the merged model.")
    export_size: int = arg(5, "Shard size of the exported model, in GB.")
    export_device: str = arg("cpu", "Device used to merge for export.", choices=["cpu", "auto"])
    export_quantization_bit: int | None = arg(None, "Quantise the exported model to this many bits (GPTQ).")
    export_quantization_dataset: str | None = arg(None, "Calibration dataset for export quantisation.")
    export_quantization_nsamples: int = arg(128, "Calibration samples for export quantisation.")
    export_quantization_maxlen: int = arg(1024, "Maximum length of calibration samples.")
    export_legacy_format: bool = arg(False, "Save .bin weights instead of safetensors.")
    export_hub_model_id: str | None = arg(None, "Push the exported model to this hub repository.")
    # vLLM / SGLang
    vllm_maxlen: int = arg(4096, "Maximum sequence length (prompt + output) of the vLLM engine.")
    vllm_gpu_util: float = arg(0.7, "Fraction of GPU memory vLLM may use.")
    vllm_enforce_eager: bool = arg(False, "Disable CUDA graphs in vLLM.")
    vllm_max_lora_rank: int = arg(32, "Largest LoRA rank vLLM must serve.")
    vllm_config: dict[str, Any] | None = arg(None, "Extra keyword arguments passed to vLLM's engine (a dict).")
    sglang_maxlen: int = arg(4096, "Maximum sequence length of the SGLang engine.", unsupported=_LATER)
    sglang_mem_fraction: float = arg(0.7, "Fraction of GPU memory SGLang may use.", unsupported=_LATER)
    sglang_tp_size: int = arg(-1, "Tensor parallel size of SGLang.", unsupported=_LATER)
    sglang_config: dict[str, Any] | None = arg(None, "Extra SGLang engine arguments.", unsupported=_LATER)
    sglang_lora_backend: str = arg("triton", "SGLang LoRA backend.", unsupported=_LATER)


def special_token_descriptions(margs: ModelArguments) -> dict[str, str] | None:
    """new_special_tokens_config read and checked: token -> description, or None when unset."""
    path = margs.new_special_tokens_config
    if path is None:
        return None
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"new_special_tokens_config: '{path}' is not a file; expected a YAML file mapping each "
                          "new special token to its description")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"new_special_tokens_config: '{path}' is not valid YAML: {e}") from None
    if not isinstance(data, dict) or not data or \
            not all(isinstance(k, str) and k and isinstance(v, str) for k, v in data.items()):
        raise ConfigError(f"new_special_tokens_config: '{path}' must map each token to a description text, "
                          "e.g. '<think>': 'the start of reasoning'")
    return data
