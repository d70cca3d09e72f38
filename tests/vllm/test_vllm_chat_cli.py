"""`lmforge chat` with infer_backend: vllm, driven through a pipe, on a thinking model (DeepSeek-R1's template
opens <think> in the generation prompt, so all the random model writes is reasoning): the streamed reasoning
shown between [thinking] and [/thinking] equals the Hugging Face engine's reasoning for the same message."""

import os
import re
import subprocess
import sys

from vllm_helpers import VLLM_ARGS, config

from lmforge.infer.engine import load_engine

HI = [{"role": "user", "content": "Hello, who are you?"}]


def test_chat_streams_the_reasoning_of_a_thinking_model(r1_dir):
    args = [f"model_name_or_path={r1_dir}", "do_sample=false", "max_new_tokens=12", *VLLM_ARGS]
    run = subprocess.run([sys.executable, "-m", "lmforge.cli", "chat", *args], input=f"{HI[0]['content']}\nexit\n",
                         capture_output=True, text=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr[-5000:]
    (reply,) = re.findall(r"Assistant: \[thinking\] (.*?) \[/thinking\]\n", run.stdout, re.DOTALL)
    hf = load_engine(config(r1_dir, max_new_tokens=12))
    assert hf.prompt(HI).endswith("<think>\n")
    (expected,) = hf.chat(HI)
    assert expected.text == "" and expected.finish_reason == "length"
    assert reply == expected.reasoning
