"""`lmforge webchat`: a chat page in the browser (Gradio), streaming, with the system prompt, the sampling
settings and thinking on/off beside the conversation (the Thinking box only for templates that have a thinking
format). A thinking model's reasoning appears as a collapsible "Thinking" message above its answer.

Where it listens: GRADIO_SERVER_NAME (default 127.0.0.1, this machine only; 0.0.0.0 for every interface),
GRADIO_SERVER_PORT (default 7860, or the next free one), GRADIO_SHARE=1 for a public gradio.live link.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from lmforge.errors import LmforgeError

THINKING_TITLE = "Thinking"


def _text(content: Any) -> str:
    """A chatbot message's content as text (gradio may hand back a list of typed parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return content.get("text") or ""
    if isinstance(content, list | tuple):
        return "".join(_text(c) for c in content)
    return ""


def history_to_messages(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chatbot history -> engine messages; a Thinking bubble becomes the next answer's reasoning."""
    messages: list[dict[str, Any]] = []
    reasoning = None
    for item in history:
        metadata = item.get("metadata") or {}
        if item.get("role") == "assistant" and metadata.get("title") == THINKING_TITLE:
            reasoning = _text(item.get("content"))
            continue
        message = {"role": item.get("role"), "content": _text(item.get("content"))}
        if reasoning is not None:
            if message["role"] != "assistant":  # the reply was all thinking (cut off): an empty answer
                messages.append({"role": "assistant", "content": "", "reasoning_content": reasoning})
            else:
                message["reasoning_content"] = reasoning
            reasoning = None
        messages.append(message)
    if reasoning is not None:
        messages.append({"role": "assistant", "content": "", "reasoning_content": reasoning})
    return messages


def reply_bubbles(reasoning: str, answer: str, done: bool) -> list[dict[str, Any]]:
    bubbles = []
    if reasoning:
        status = "done" if (done or answer) else "pending"
        bubbles.append({"role": "assistant", "content": reasoning,
                        "metadata": {"title": THINKING_TITLE, "status": status}})
    if answer or not reasoning:
        bubbles.append({"role": "assistant", "content": answer})
    return bubbles


def make_respond(engine):
    def respond(message: str, history: list[dict[str, Any]], system: str, max_new_tokens: float,
                temperature: float, top_p: float, thinking: bool) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        if not message or not message.strip():
            yield "", history
            return
        history = list(history or []) + [{"role": "user", "content": message}]
        yield "", history
        gen = {"max_new_tokens": int(max_new_tokens), "do_sample": temperature > 0, "temperature": temperature,
               "top_p": top_p, "enable_thinking": thinking}
        try:
            stream = engine.stream_chat(history_to_messages(history), system=system or None, **gen)
        except (ValueError, LmforgeError) as e:
            yield "", history + [{"role": "assistant", "content": f"error: {e}"}]
            return
        splitter = stream.splitter()
        parts = {"reasoning": "", "content": ""}
        try:
            for delta in stream:
                for kind, text in splitter.feed(delta):
                    parts[kind] += text
                yield "", history + reply_bubbles(parts["reasoning"], parts["content"], False)
            for kind, text in splitter.flush():
                parts[kind] += text
        finally:
            stream.close()  # the page was closed or the reply stopped: stop generating
        yield "", history + reply_bubbles(parts["reasoning"], parts["content"], True)

    return respond


def build_page(engine, cfg):
    import gradio as gr

    from lmforge.infer.base import thinking_tags

    g = cfg.generation
    with gr.Blocks(title="lmforge chat") as page:
        gr.Markdown(f"### lmforge chat: `{cfg.model.model_name_or_path}`"
                    + (f" + `{','.join(cfg.model.adapter_name_or_path)}`" if cfg.model.adapter_name_or_path else ""))
        with gr.Row():
            with gr.Column(scale=4):
                chatbot = gr.Chatbot(label="Conversation", height=520, elem_id="lmforge-chatbot")
                query = gr.Textbox(placeholder="Type a message and press Enter", show_label=False, lines=1,
                                   elem_id="lmforge-query")
                with gr.Row():
                    send = gr.Button("Send", variant="primary", elem_id="lmforge-send")
                    clear = gr.Button("Clear", elem_id="lmforge-clear")
            with gr.Column(scale=1):
                system = gr.Textbox(label="System prompt", value=cfg.data.default_system or "", lines=4)
                max_new_tokens = gr.Slider(1, max(4096, g.max_new_tokens), value=g.max_new_tokens, step=1,
                                           label="Maximum new tokens")
                temperature = gr.Slider(0, 1.5, value=g.temperature if g.do_sample else 0, step=0.01,
                                        label="Temperature (0 = greedy)")
                top_p = gr.Slider(0.01, 1.0, value=g.top_p, step=0.01, label="Top-p")
                # a template without a thinking format ignores enable_thinking: no box to tick there
                thinks = thinking_tags(engine.template)[1] is not None
                thinking = gr.Checkbox(value=thinks and cfg.data.enable_thinking is not False, label="Thinking",
                                       visible=thinks, elem_id="lmforge-thinking")
        inputs = [query, chatbot, system, max_new_tokens, temperature, top_p, thinking]
        respond = make_respond(engine)
        query.submit(respond, inputs, [query, chatbot])
        send.click(respond, inputs, [query, chatbot])
        clear.click(lambda: ("", []), None, [query, chatbot])
    return page


def launch_settings() -> dict[str, Any]:
    port = os.environ.get("GRADIO_SERVER_PORT")
    return {"server_name": os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1",
            "server_port": int(port) if port else None,
            "share": os.environ.get("GRADIO_SHARE", "0").lower() in ("1", "true", "yes")}


def run_webchat(cfg) -> None:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from lmforge.infer.engine import load_engine

    engine = load_engine(cfg)
    try:
        page = build_page(engine, cfg)
        page.queue().launch(**launch_settings(), inbrowser=False)
    finally:
        engine.close()
