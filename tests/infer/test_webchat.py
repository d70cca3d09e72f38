"""`lmforge webchat` in a real headless Chromium: the page loads, a typed message gets the model's answer,
and the answer arrives in pieces (streamed), not at once; the Thinking box is there only for templates that
think."""

import json
from pathlib import Path

import pytest
from infer_helpers import free_port, start_lmforge, stop, wait_for

from lmforge.infer.webchat import history_to_messages, reply_bubbles

CHROMIUM = "/usr/bin/chromium"  # Debian's build (.ci/run installs it); playwright's own download is not used
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
TOKENS = 160  # enough for the answer to take a while, so the page shows it growing

# records the bot bubble's text length at every DOM change of the chatbot
OBSERVE = """() => {
  window.lengths = [];
  const box = document.querySelector('#lmforge-chatbot');
  new MutationObserver(() => {
    const bots = box.querySelectorAll('[data-testid="bot"]');
    if (bots.length) window.lengths.push(bots[bots.length - 1].innerText.length);
  }).observe(box, {subtree: true, childList: true, characterData: true});
}"""


def serve_page(tmp_path_factory, *keys: str):
    port = free_port()
    log = tmp_path_factory.mktemp("webchat") / "webchat.log"
    proc = start_lmforge(["webchat", *keys], {"GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
                                              "GRADIO_ANALYTICS_ENABLED": "False"}, log)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(url, proc, log)
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def page_url(qwen3_dir, tmp_path_factory):
    """The tiny Qwen3 with its own chat template, which has a thinking format."""
    yield from serve_page(tmp_path_factory, f"model_name_or_path={qwen3_dir}", "do_sample=false",
                          f"max_new_tokens={TOKENS}")


@pytest.fixture(scope="module")
def plain_page_url(qwen3_dir, tmp_path_factory):
    """The same model on the Qwen2.5 template, which has no thinking format."""
    yield from serve_page(tmp_path_factory, f"model_name_or_path={qwen3_dir}", "template=qwen")


def browser_page(p):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium chromium-driver")
    return p.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def test_a_typed_message_gets_a_streamed_answer(page_url, engine):
    from playwright import sync_api as playwright  # in the test extra
    question = "Hello, who are you?"
    (expected,) = engine.chat([{"role": "user", "content": question}], max_new_tokens=TOKENS)
    with playwright.sync_playwright() as p:
        browser = browser_page(p)
        try:
            page = browser.new_page()
            page.goto(page_url, wait_until="domcontentloaded")
            box = page.wait_for_selector("#lmforge-query textarea", timeout=60_000)
            page.evaluate(OBSERVE)
            box.fill(question)
            box.press("Enter")
            page.wait_for_selector('#lmforge-chatbot [data-testid="user"]', timeout=30_000)
            bot = '#lmforge-chatbot [data-testid="bot"]'
            page.wait_for_function(
                f"() => {{ const b = document.querySelector('{bot}'); "
                f"return b && b.innerText.trim() === {json.dumps(expected.text.strip())}; }}", timeout=60_000)
            assert page.inner_text('#lmforge-chatbot [data-testid="user"]') == question
            lengths = page.evaluate("window.lengths")
        finally:
            browser.close()
    growing = sorted(set(n for n in lengths if n > 0))
    assert len(growing) >= 3, f"the answer did not stream: text lengths seen {lengths}"


def test_the_thinking_box_only_where_the_template_thinks(page_url, plain_page_url):
    from playwright import sync_api as playwright  # in the test extra
    seen = {}
    with playwright.sync_playwright() as p:
        browser = browser_page(p)
        try:
            page = browser.new_page()
            for name, url in (("qwen3", page_url), ("qwen", plain_page_url)):
                page.goto(url, wait_until="domcontentloaded")
                page.wait_for_selector("#lmforge-query textarea", timeout=60_000)
                box = page.get_by_role("checkbox", name="Thinking")
                seen[name] = (box.count(), box.is_visible() and box.is_checked())
        finally:
            browser.close()
    assert seen["qwen3"] == (1, True)  # shown and ticked: Qwen3 thinks unless told not to
    assert seen["qwen"][1] is False  # no thinking format: no box to tick


def test_reasoning_bubble_and_history_round_trip():
    bubbles = reply_bubbles("Let me think.", "Four.", done=True)
    assert bubbles == [{"role": "assistant", "content": "Let me think.",
                        "metadata": {"title": "Thinking", "status": "done"}},
                       {"role": "assistant", "content": "Four."}]
    assert reply_bubbles("Still thinking", "", done=False)[0]["metadata"]["status"] == "pending"
    assert reply_bubbles("", "", done=False) == [{"role": "assistant", "content": ""}]
    # gradio hands content back as typed parts; a Thinking bubble becomes the next reply's reasoning
    history = [{"role": "user", "content": [{"type": "text", "text": "2+2?"}]}, *bubbles,
               {"role": "user", "content": "and 3+3?"}]
    assert history_to_messages(history) == [
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "Four.", "reasoning_content": "Let me think."},
        {"role": "user", "content": "and 3+3?"}]
    cut_off = [{"role": "user", "content": "hi"}, *reply_bubbles("Hmm", "", done=True), {"role": "user", "content": "?"}]
    assert history_to_messages(cut_off)[1] == {"role": "assistant", "content": "", "reasoning_content": "Hmm"}
