"""Write examples/tiny-phi3: a 5M-parameter Phi-3-shaped model with the real Phi-3-mini tokenizer.

It is a standard Hugging Face checkpoint folder (config.json, model.safetensors, tokenizer files), small
enough to ship in the repository and to fine-tune on a 2-core CPU in a couple of minutes, so the quickstart
trains something real with no network. The weights are random (seeded): it learns what it is taught.

    python scripts/make_tiny_model.py [--out examples/tiny-phi3]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch
from transformers import AutoTokenizer, Phi3Config, Phi3ForCausalLM

REPO = Path(__file__).resolve().parent.parent
TOKENIZER = REPO / "tests" / "fixtures" / "tokenizers" / "phi3"  # MIT, see SOURCES.md there


def build(out: Path) -> Path:
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER)
    config = Phi3Config(
        vocab_size=len(tokenizer),
        hidden_size=128,
        intermediate_size=384,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        # embeddings (tied to the output head) 10x the usual scale: LoRA leaves them frozen, and with the usual
        # 0.02 a 128-wide model cannot make a confident prediction from any hidden state
        initializer_range=0.2,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=[tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|end|>")],
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    model = Phi3ForCausalLM(config)
    model.to(torch.bfloat16)  # stored in bf16 to halve the repository size; loaded in float32 for CPU training
    shutil.rmtree(out, ignore_errors=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "README.md").write_text(
        "# tiny-phi3\n\nA randomly initialised Phi-3-shaped model (4 layers, hidden 128, "
        f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters) with the Phi-3-mini tokenizer "
        "(MIT licence; provenance in tests/fixtures/tokenizers/SOURCES.md). Made by scripts/make_tiny_model.py "
        "for lmforge's offline quickstart. It knows nothing until you train it.\n")
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "examples" / "tiny-phi3")
    path = build(parser.parse_args().out)
    size = sum(f.stat().st_size for f in path.iterdir()) / 2**20
    print(f"wrote {path} ({size:.1f} MiB)")
