"""Incremental text filters for streamed generation: cut at stop strings, split reasoning from the answer.

Both hold back the few characters that might be the start of a marker (a stop string, `</think>`) until
the next delta shows whether it is one, so a client never sees half a marker.
"""

from __future__ import annotations


def _held_back(text: str, markers: list[str]) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of one of `markers`."""
    best = 0
    for marker in markers:
        for n in range(min(len(marker) - 1, len(text)), best, -1):
            if text.endswith(marker[:n]):
                best = n
                break
    return best


class StopFilter:
    """Passes text through until a stop string appears; everything from the stop string on is dropped."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = [s for s in stops if s]
        self.pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        if self.stopped:
            return ""
        self.pending += text
        hits = [i for i in (self.pending.find(s) for s in self.stops) if i >= 0]
        if hits:
            out, self.pending, self.stopped = self.pending[: min(hits)], "", True
            return out
        keep = _held_back(self.pending, self.stops)
        out = self.pending[: len(self.pending) - keep]
        self.pending = self.pending[len(out):]
        return out

    def flush(self) -> str:
        out, self.pending = ("" if self.stopped else self.pending), ""
        return out


class ReasoningSplitter:
    """Turns a stream of reply deltas into ("reasoning" | "content", text) pieces.

    The reply may open with `<think>` (Qwen3), or the prompt may already have opened the block
    (DeepSeek-R1 ends its generation prompt with `<think>\\n`): then the reply starts inside it. Newlines
    right inside the block and right after it are dropped, as the templates' own split does.
    """

    def __init__(self, open_tag: str | None, close_tag: str | None, *, in_reasoning: bool = False) -> None:
        self.open, self.close = open_tag or "", close_tag or ""
        if not self.close:
            self.state = "content"
        else:
            self.state = "reasoning" if in_reasoning else "start"
        self.buf = ""
        self.lead = bool(self.close)  # at the start of a part whose leading newlines are dropped

    def feed(self, text: str) -> list[tuple[str, str]]:
        self.buf += text
        out: list[tuple[str, str]] = []
        while True:
            if self.state == "start":
                head = self.buf.lstrip()
                if head.startswith(self.open):
                    self.buf, self.state, self.lead = head[len(self.open):], "reasoning", True
                    continue
                if self.open.startswith(head):  # maybe the open tag, not complete yet
                    return out
                self.state, self.lead = "content", False
                continue
            if self.state == "reasoning":
                if self.lead:
                    self.buf = self.buf.lstrip("\n")
                    if not self.buf:
                        return out
                    self.lead = False
                end = self.buf.find(self.close)
                if end >= 0:
                    self._emit(out, "reasoning", self.buf[:end].rstrip("\n"))
                    self.buf, self.state, self.lead = self.buf[end + len(self.close):], "content", True
                    continue
                keep = _held_back(self.buf, [self.close])
                body = self.buf[: len(self.buf) - keep]
                trailing = len(body) - len(body.rstrip("\n"))  # newlines may precede the close tag
                body = body[: len(body) - trailing]
                self._emit(out, "reasoning", body)
                self.buf = self.buf[len(body):]
                return out
            # content
            if self.lead:
                self.buf = self.buf.lstrip("\n")
                if not self.buf:
                    return out
                self.lead = False
            self._emit(out, "content", self.buf)
            self.buf = ""
            return out

    def flush(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if self.state == "reasoning":
            self._emit(out, "reasoning", self.buf.rstrip("\n"))
        elif self.state == "start":
            self._emit(out, "content", self.buf)
        # in "content" the buffer only ever holds newlines that lead the answer: dropped
        self.buf = ""
        return out

    @staticmethod
    def _emit(out: list[tuple[str, str]], kind: str, text: str) -> None:
        if text:
            out.append((kind, text))
