"""The `lmforge` command: parse the subcommand, hand the config to the module that does the work."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from lmforge import __version__
from lmforge.errors import LmforgeError, did_you_mean

USAGE = """\
usage: lmforge <command> [config.yaml] [key=value | --key value | --key=value ...]

commands:
  train     fine-tune a model (stages pt, sft, rm, dpo, kto)
  preview   show what training will see: encoded examples with the trained spans marked
  chat      talk to a model in the terminal (streaming, multi-turn; `clear` resets, `exit` quits)
  webchat   a chat page in the browser (Gradio; GRADIO_SERVER_NAME, GRADIO_SERVER_PORT, GRADIO_SHARE)
  api       an OpenAI-compatible server (API_HOST, API_PORT, API_KEY, API_MODEL_NAME, MAX_CONCURRENT)
  export    merge LoRA adapters into the base model and save it to export_dir (+ an Ollama Modelfile)
  predict   generate replies for a dataset (infer_backend: huggingface or vllm); write predictions + BLEU/ROUGE
  eval      score a model on a multiple-choice exam (MMLU, C-Eval, CMMLU or your own; task, n_shot, lang)
  env       print versions of lmforge's dependencies and the devices seen
  version   print the lmforge version
  help      show this message; `lmforge <command> --help` lists a command's keys by group

examples:
  lmforge train examples/quickstart.yaml
  lmforge train --model_name_or_path=Qwen/Qwen3-0.6B --stage=sft --dataset=alpaca_en_demo --template=qwen3 \\
      --output_dir=saves/qwen3-lora
  lmforge chat --model_name_or_path=Qwen/Qwen3-0.6B --adapter_name_or_path=saves/qwen3-lora
  lmforge export --model_name_or_path=Qwen/Qwen3-0.6B --adapter_name_or_path=saves/qwen3-lora \\
      --export_dir=models/qwen3-merged
  lmforge predict --model_name_or_path=Qwen/Qwen3-0.6B --adapter_name_or_path=saves/qwen3-lora \\
      --eval_dataset=alpaca_en_demo --infer_backend=vllm --output_dir=saves/qwen3-predict
  lmforge eval --model_name_or_path=Qwen/Qwen3-0.6B --template=qwen3 --task=mmlu_test --n_shot=5 \
      --save_dir=saves/qwen3-mmlu
"""


def _wants_help(args: list[str]) -> bool:
    return any(a in ("-h", "--help") for a in args)


def cmd_train(args: list[str]) -> int:
    from lmforge.config import load_config, parse_argv

    if _wants_help(args):
        from lmforge.config.help import format_help

        print(format_help("train"))
        return 0
    cfg = load_config(parse_argv(args), command="train")  # errors surface once, before any launch
    t = cfg.training
    from lmforge.train.run import check_output_dir

    check_output_dir(t.output_dir)  # a file or a read-only folder: one line now, not a traceback later
    if t.do_predict and t.predict_with_generate and cfg.model.infer_backend == "vllm":
        # generation-only prediction on vLLM: `lmforge predict`, one process (vLLM spreads over the GPUs
        # itself), so before any torchrun relaunch
        from lmforge.infer.predict import run_predict

        run_predict(cfg)
        return 0
    from lmforge.launcher import relaunch, should_relaunch

    if should_relaunch():
        return relaunch(args)
    from lmforge.train.run import run_training

    run_training(cfg)
    _end_process_group()
    return 0


def _end_process_group() -> None:
    """A torchrun worker that finished training closes its process group: left to interpreter shutdown,
    gloo's threads can abort the process ('terminate called without an active exception', exit -6; seen in
    CI on the 2-process CPU test). Only after success: a rank that failed must not wait on the others."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def cmd_preview(args: list[str]) -> int:
    from lmforge.data.preview import main as preview_main

    return preview_main(args)


def _infer_config(command: str, args: list[str]):
    from lmforge.config import load_config, parse_argv

    return load_config(parse_argv(args), command=command)


def _infer_help(command: str) -> int:
    from lmforge.config.help import format_help

    print(format_help(command))
    return 0


# commands that load a trained model: name -> (module, function taking the config)
INFER_RUNNERS = {
    "chat": ("lmforge.infer.chat_cli", "run_chat"),
    "webchat": ("lmforge.infer.webchat", "run_webchat"),
    "api": ("lmforge.infer.api", "run_api"),
    "export": ("lmforge.export", "run_export"),
    "predict": ("lmforge.infer.predict", "run_predict"),
    "eval": ("lmforge.eval.exam_eval", "run_eval"),
}


def _infer_command(name: str) -> Callable[[list[str]], int]:
    def command(args: list[str]) -> int:
        if _wants_help(args):
            return _infer_help(name)
        cfg = _infer_config(name, args)
        if name == "predict":  # it writes its predictions to output_dir
            from lmforge.train.run import check_output_dir

            check_output_dir(cfg.training.output_dir)
        import importlib

        from lmforge.logs import log_to_stderr

        log_to_stderr()
        module, function = INFER_RUNNERS[name]
        getattr(importlib.import_module(module), function)(cfg)  # imported late: torch loads only when needed
        return 0

    command.__name__ = f"cmd_{name}"
    return command


def cmd_env(args: list[str]) -> int:
    from lmforge.env import format_env

    print(format_env())
    return 0


def cmd_version(args: list[str]) -> int:
    print(f"lmforge {__version__}")
    return 0


def cmd_help(args: list[str]) -> int:
    if args and args[0] in COMMANDS and args[0] != "help":
        return COMMANDS[args[0]](["--help"])
    print(USAGE)
    return 0


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "train": cmd_train,
    "preview": cmd_preview,
    **{name: _infer_command(name) for name in INFER_RUNNERS},
    "env": cmd_env,
    "version": cmd_version,
    "help": cmd_help,
}


def _close_progress_bars() -> None:
    """An error in the middle of training (a full disk while saving) leaves the progress bar open; closed, it
    ends its line, so the error is a line of its own."""
    if "tqdm" in sys.modules:
        from tqdm import tqdm

        for bar in list(getattr(tqdm, "_instances", ())):
            bar.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if argv[0] in ("-v", "--version"):
        return cmd_version([])
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"lmforge: unknown command '{command}'{did_you_mean(command, COMMANDS)}\n", file=sys.stderr)
        print(USAGE, file=sys.stderr)
        return 2
    try:
        return COMMANDS[command](rest)
    except LmforgeError as e:
        _close_progress_bars()
        print(f"lmforge {command}: error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `lmforge train --help | head`
        return 0
    except KeyboardInterrupt:
        print(f"lmforge {command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
