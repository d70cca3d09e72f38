"""`lmforge chat` driven through a pipe on stdin, as a user's terminal would drive it: multi-turn history,
`clear`, `exit`, the system prompt (default_system), and a thinking model's reasoning marked apart from the
answer."""

import os
import re
import subprocess
import sys

HELLO = [{"role": "user", "content": "hello"}]


def chat(args, lines, timeout=180):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "lmforge.cli", "chat", *args], input="".join(f"{x}\n" for x in lines),
                         capture_output=True, text=True, timeout=timeout, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout


def replies(transcript: str) -> list[str]:
    """The assistant replies of a transcript, in order."""
    return [m.group(1) for m in re.finditer(r"Assistant: (.*?)\n\nUser: ", transcript, re.DOTALL)]


def test_multi_turn_clear_exit_and_system_prompt(greedy_args, engine):
    system = "You answer in French."
    transcript = chat([*greedy_args, f"default_system={system}"],
                      ["hello", "and then?", "clear", "hello", "exit", "never read"])
    first, second, after_clear = replies(transcript)
    (expected_first,) = engine.chat(HELLO, system=system)
    assert first == expected_first.text
    (without_system,) = engine.chat(HELLO)
    assert without_system.text != first  # default_system reached the prompt
    history = HELLO + [{"role": "assistant", "content": first}, {"role": "user", "content": "and then?"}]
    (expected_second,) = engine.chat(history, system=system)
    assert second == expected_second.text  # the second turn saw the first
    assert "History cleared." in transcript
    assert after_clear == expected_first.text  # a fresh conversation again
    assert "never read" not in transcript  # `exit` quit


def test_thinking_is_marked_apart_from_the_answer(r1_dir):
    transcript = chat([f"model_name_or_path={r1_dir}", "do_sample=false", "max_new_tokens=6"],
                      ["Hello, who are you?"])
    (reply,) = replies(transcript)
    assert reply.startswith("[thinking] ") and reply.rstrip().endswith("[/thinking]")
