"""`lmforge export`: one self-contained model folder from a base model and its LoRA adapters.

Read top to bottom: load the tokenizer training saved (its chat_template), load the base in the output
dtype, merge the adapters (a fully fine-tuned model has none and is saved as is), save in shards of
`export_size` GB (safetensors, or .bin with export_legacy_format), save the tokenizer, write an Ollama
Modelfile, and push the folder to the hub when export_hub_model_id is set.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch

from lmforge.config import Config
from lmforge.errors import LmforgeError

log = logging.getLogger("lmforge")


def export_dtype(cfg: Config) -> torch.dtype:
    """infer_dtype, or with `auto` the dtype the checkpoint was saved in (float32 when it does not say)."""
    if cfg.model.infer_dtype != "auto":
        return getattr(torch, cfg.model.infer_dtype)
    from transformers import AutoConfig

    from lmforge.models.loader import resolve_model_path

    m = cfg.model
    config = AutoConfig.from_pretrained(resolve_model_path(m.model_name_or_path, m), cache_dir=m.cache_dir,
                                        revision=m.model_revision, token=m.hf_hub_token,
                                        trust_remote_code=m.trust_remote_code)
    dtype = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype, None)
    return dtype if isinstance(dtype, torch.dtype) and dtype.is_floating_point else torch.float32


def run_export(cfg: Config) -> Path:
    from lmforge.infer.base import load_inference_tokenizer
    from lmforge.infer.engine import with_dtype
    from lmforge.models.adapters import apply_finetuning
    from lmforge.models.loader import load_model

    m = cfg.model
    out = Path(m.export_dir)
    tokenizer = load_inference_tokenizer(cfg)
    template = _template(cfg, tokenizer)
    dtype = export_dtype(cfg)
    head = "score" if cfg.finetuning.stage == "rm" else "lm"  # a reward model keeps its score head
    model = load_model(with_dtype(cfg, dtype), tokenizer, trainable=False, head=head)
    if m.export_device == "auto" and torch.cuda.is_available():
        model = model.to("cuda")  # merging is a matmul per layer: fast on a GPU
    model = apply_finetuning(model, cfg, is_trainable=False)  # merges adapter_name_or_path, in order
    model = model.to("cpu")
    if template is not None:
        _add_stop_ids(model, tokenizer, template)

    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, max_shard_size=f"{m.export_size}GB")
    if m.export_legacy_format:
        to_legacy_bin(out)
    tokenizer.padding_side = "left"  # what batched generation wants
    tokenizer.save_pretrained(out)
    modelfile = ollama_modelfile(template, tokenizer, num_ctx=trained_cutoff_len(cfg))
    (out / "Modelfile").write_text(modelfile, encoding="utf-8")
    log.info("exported %s%s (%s) to %s", m.model_name_or_path,
             f" + {','.join(m.adapter_name_or_path)}" if m.adapter_name_or_path else "", dtype, out)
    print(f"lmforge export: wrote {out} ({dtype}); Ollama: cd {out} && ollama create <name> -f Modelfile")
    if m.export_hub_model_id:
        push_folder(out, m.export_hub_model_id, m.hf_hub_token)
    return out


def _template(cfg: Config, tokenizer):
    """The chat template to ship: `template` if set (it becomes the tokenizer's chat_template), else the one
    the tokenizer (or the adapter folder) carries. None when there is none (a base model for pt)."""
    from lmforge.errors import TemplateError
    from lmforge.templates import get_template, saved_chat_template

    if cfg.data.template is None and not tokenizer.chat_template:
        return None
    try:
        template = get_template(cfg.data.template, tokenizer, tool_format=cfg.data.tool_format,
                                default_system=cfg.data.default_system)
    except TemplateError:
        if cfg.data.template is not None:
            raise
        log.warning("the tokenizer's chat template cannot be analysed; it is exported as is")
        return None
    if cfg.data.template is not None or cfg.data.tool_format is not None:
        tokenizer.chat_template = saved_chat_template(template)  # with the tool format, where it is not implied
    return template


def trained_cutoff_len(cfg: Config) -> int | None:
    """cutoff_len of the run that trained the model: from the lmforge_config.yaml training saved in the last
    adapter folder, else in the model folder (a full fine-tune). None when neither has one."""
    import yaml

    m = cfg.model
    folders = [Path(a) / (m.adapter_folder or "") for a in reversed(m.adapter_name_or_path or [])]
    for folder in [*folders, Path(m.model_name_or_path)]:
        path = folder / "lmforge_config.yaml"  # train/trainer.py's CONFIG_NAME
        if path.is_file():
            value = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("cutoff_len")
            return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
    return None


def _add_stop_ids(model, tokenizer, template) -> None:
    """Make the template's one-token stop words eos ids of the saved generation config, so that plain
    `generate` (and servers reading generation_config.json) stop where lmforge's engine stops."""
    config = getattr(model, "generation_config", None)
    if config is None:
        return
    ids = config.eos_token_id if isinstance(config.eos_token_id, list) else \
        [config.eos_token_id] if config.eos_token_id is not None else []
    for word in template.stop_words:
        token_ids = tokenizer.encode(word, add_special_tokens=False)
        if len(token_ids) == 1 and token_ids[0] not in ids:
            ids.append(token_ids[0])
    if ids:
        config.eos_token_id = ids[0] if len(ids) == 1 else ids


def to_legacy_bin(folder: Path) -> None:
    """Turn the safetensors files save_pretrained wrote (transformers 5 writes no other format) into
    pytorch_model*.bin files with their index, the layout of export_legacy_format."""
    from safetensors.torch import load_file

    index_file = folder / "model.safetensors.index.json"
    if index_file.exists():
        index = json.loads(index_file.read_text(encoding="utf-8"))
        names = {f: f.replace("model", "pytorch_model", 1).replace(".safetensors", ".bin")
                 for f in sorted(set(index["weight_map"].values()))}
        index["weight_map"] = {k: names[v] for k, v in index["weight_map"].items()}
        (folder / "pytorch_model.bin.index.json").write_text(json.dumps(index, indent=2), encoding="utf-8")
        index_file.unlink()
    else:
        names = {"model.safetensors": "pytorch_model.bin"}
    for src, dst in names.items():
        torch.save(load_file(folder / src), folder / dst)
        (folder / src).unlink()


# ---------------------------------------------------------------------------------------------------------
# Ollama


def ollama_modelfile(template, tokenizer, num_ctx: int | None = None) -> str:
    """A Modelfile for `ollama create`: TEMPLATE translated from the chat template when its role formats
    describe it (checked by rendering), SYSTEM from its default system prompt, a stop for each stop word, and
    num_ctx from the training cutoff_len (the context the model was trained on; Ollama's default is smaller)."""
    lines = ["# Ollama Modelfile written by `lmforge export`.",
             "# Create the model from this folder: ollama create <name> -f Modelfile", "", "FROM ."]
    source = _format_template(template, tokenizer)
    go = ollama_template(source) if source is not None else None
    if go is not None:
        lines += ["", f'TEMPLATE """{go}"""']
    else:
        lines += ["", "# No TEMPLATE: this chat template has logic beyond per-role formats (or there is none);",
                  "# Ollama then takes the chat template from tokenizer_config.json when it recognises it."]
    if source is not None and source.default_system and '"""' not in source.default_system:
        lines += ["", f'SYSTEM """{source.default_system}"""']
    stops = list(template.stop_words) if template is not None else []
    if stops:
        lines.append("")
    lines += [f"PARAMETER stop {json.dumps(stop, ensure_ascii=False)}" for stop in stops]
    if num_ctx:
        lines += ["", f"PARAMETER num_ctx {num_ctx}"]
    return "\n".join(lines) + "\n"


def _format_template(template, tokenizer):
    """A template whose role format strings are known: the template itself, or for the jinja path the
    registered template whose official chat_template the tokenizer carries verbatim."""
    if template is None:
        return None
    from lmforge.templates.jinja import JinjaTemplate

    if not isinstance(template, JinjaTemplate):
        return template
    from lmforge.templates import get_template, list_templates

    source = template.chat_template()
    for name in list_templates():
        try:
            candidate = get_template(name, tokenizer)
            if candidate.official and candidate.chat_template() == source:
                return candidate
        except (LmforgeError, NotImplementedError, OSError):
            continue
    return None


_PROBE = ("lmforge-system", "lmforge-question-1", "lmforge-answer-1", "lmforge-question-2")


def ollama_template(t) -> str | None:
    """Go template text for Ollama from the role formats, or None when the formats do not reproduce the
    template's own rendering of a probe conversation (then the translation would be wrong)."""
    from lmforge.data.conversation import Conversation, Message
    from lmforge.templates import Template

    system, q1, a1, q2 = _PROBE

    def fill(fmt: str, content: str) -> str:
        return fmt.replace("{content}", content)

    reply = getattr(t, "reply", "{content}")
    conv = Conversation([Message("user", q1), Message("assistant", a1), Message("user", q2)], system=system)
    try:
        rendered = "".join(s.text for s in t.render(conv, add_generation_prompt=True))
    except LmforgeError:
        return None
    expected = (t.prefix + fill(t.system, system) + fill(t.user, q1) + t.assistant + fill(reply, a1)
                + t.end_of_turn + t.separator + fill(t.user, q2) + t.assistant)
    if rendered != expected or not t.system_role:
        return None
    pieces = [t.prefix, t.system, t.user, t.assistant, reply, t.end_of_turn, t.separator, t.tool]
    if any('"""' in p for p in pieces):
        return None

    def lit(text: str) -> str:
        return text.replace("{{", '{{ "{{" }}').replace("{content}", "\0")

    def slot(fmt: str, field: str) -> str:
        return lit(fmt).replace("\0", "{{ " + field + " }}")

    prefix = "" if t.prefix == t.bos else lit(t.prefix)  # llama.cpp adds bos itself
    # tool results: only where the plain format says how they render (families that override it, like
    # Qwen's grouped <tool_response> turns, get no tool branch rather than a wrong one), and only with a role
    # marker (a bare "{content}" is a family without a tool role and no tool format: results would run into
    # the text)
    plain_tools = getattr(type(t), "render_tool", None) is getattr(Template, "render_tool", None)
    has_role = getattr(t, "tool", "{content}") != "{content}"
    tool = f'{{{{ else if eq .Role "tool" }}}}{slot(t.tool, ".Content")}' if plain_tools and has_role else ""
    return (
        f"{prefix}{{{{ if .System }}}}{slot(t.system, '.System')}{{{{ end }}}}"
        "{{ range $i, $_ := .Messages }}{{ $last := eq (len (slice $.Messages $i)) 1 }}"
        f'{{{{ if eq .Role "user" }}}}{slot(t.user, ".Content")}'
        f'{{{{ else if eq .Role "assistant" }}}}{lit(t.assistant)}{slot(reply, ".Content")}'
        f"{{{{ if not $last }}}}{lit(t.end_of_turn + t.separator)}{{{{ end }}}}"
        f"{tool}{{{{ end }}}}"
        f'{{{{ if and (ne .Role "assistant") $last }}}}{lit(t.assistant)}{{{{ end }}}}{{{{ end }}}}'
    )


def push_folder(folder: Path, repo_id: str, token: str | None) -> None:
    """Upload the exported folder as it is on disk (weights in the chosen format, tokenizer, Modelfile)."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, exist_ok=True, repo_type="model")
    api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="model",
                      commit_message="Upload model exported by lmforge")
    print(f"lmforge export: pushed {folder} to https://huggingface.co/{repo_id}")
