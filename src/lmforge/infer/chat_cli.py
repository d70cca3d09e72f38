"""`lmforge chat`: a multi-turn conversation in the terminal, streamed as the model writes.

Type a message and press enter. `clear` starts a new conversation, `exit` (or end of input) quits.
The system prompt is `default_system`. A thinking model's reasoning is shown before its answer: dimmed in a
terminal, between [thinking] and [/thinking] when the output is not a terminal (a pipe, a log file).
Ctrl-C while the model writes stops that reply; Ctrl-C at the prompt quits.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, TextIO

from lmforge.errors import LmforgeError

HELP = "lmforge chat: type a message and press enter; 'clear' resets the history, 'exit' quits."


class ReplyPrinter:
    """Writes reasoning and answer pieces as they arrive, marking where the reasoning starts and ends."""

    def __init__(self, out: TextIO, color: bool) -> None:
        self.out = out
        self.open, self.close = ("\033[2m", "\033[0m\n") if color else ("[thinking] ", " [/thinking]\n")
        self.in_reasoning = False
        self.reasoning: list[str] = []
        self.answer: list[str] = []

    def write(self, kind: str, text: str) -> None:
        if kind == "reasoning":
            if not self.in_reasoning:
                self.out.write(self.open)
                self.in_reasoning = True
            self.reasoning.append(text)
        else:
            self.end_reasoning()
            self.answer.append(text)
        self.out.write(text)
        self.out.flush()

    def end_reasoning(self) -> None:
        if self.in_reasoning:
            self.out.write(self.close)
            self.in_reasoning = False

    def finish(self) -> None:
        if self.in_reasoning:
            self.end_reasoning()  # ends the line itself
        else:
            self.out.write("\n")
        self.out.flush()


def reply(engine, messages: list[dict[str, Any]], out: TextIO, color: bool) -> dict[str, Any]:
    """Stream one reply to `out`; returns it as an assistant message for the history."""
    stream = engine.stream_chat(messages)
    splitter = stream.splitter()
    printer = ReplyPrinter(out, color)
    try:
        for delta in stream:
            for kind, text in splitter.feed(delta):
                printer.write(kind, text)
        for kind, text in splitter.flush():
            printer.write(kind, text)
    except KeyboardInterrupt:
        stream.close()
        printer.end_reasoning()
        out.write(" [stopped]")
    printer.finish()
    message: dict[str, Any] = {"role": "assistant", "content": "".join(printer.answer)}
    if printer.reasoning:
        message["reasoning_content"] = "".join(printer.reasoning)
    return message


def read_line(stdin: TextIO, out: TextIO, interactive: bool) -> str | None:
    """The next user line, or None at end of input (or Ctrl-C / Ctrl-D at the prompt)."""
    try:
        if interactive:
            return input("\nUser: ")
        out.write("\nUser: ")
        out.flush()
        line = stdin.readline()
        return line if line else None
    except (EOFError, KeyboardInterrupt):
        return None


def run_chat(cfg, stdin: TextIO | None = None, out: TextIO | None = None) -> None:
    from lmforge.infer.engine import load_engine

    engine = load_engine(cfg)
    try:
        converse(engine, stdin or sys.stdin, out or sys.stdout)
    finally:
        engine.close()  # the vLLM engine's processes end with the command


def converse(engine, stdin: TextIO, out: TextIO) -> None:
    interactive = stdin.isatty()
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (line editing and history for input())
    color = out.isatty()
    out.write(HELP + "\n")
    messages: list[dict[str, Any]] = []
    while True:
        line = read_line(stdin, out, interactive)
        if line is None:  # end of input
            out.write("\n")
            break
        query = line.rstrip("\n")
        if not interactive:
            out.write(query + "\n")  # echo piped input so the transcript reads like a conversation
        if query.strip() == "exit":
            break
        if query.strip() == "clear":
            messages = []
            out.write("History cleared.\n")
            continue
        if not query.strip():
            continue
        messages.append({"role": "user", "content": query})
        out.write("Assistant: ")
        try:
            messages.append(reply(engine, messages, out, color))
        except (ValueError, LmforgeError) as e:
            messages.pop()
            out.write(f"\nerror: {e}\n")
    out.flush()
