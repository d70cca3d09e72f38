import pytest

from lmforge.templates import get_template


@pytest.fixture(scope="session")
def template_for():
    """template_for(name, tokenizer, **kw) -> the registered template bound to the tokenizer (cached)."""
    cache = {}

    def get(name, tokenizer, **kw):
        key = (name, id(tokenizer), tuple(sorted(kw.items())))
        if key not in cache:
            cache[key] = get_template(name, tokenizer, **kw)
        return cache[key]

    return get


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    """Templates that write today's date (mistral_small) render the day official templates see in these tests
    (template_cases.PINNED_NOW is what `strftime_now` returns there)."""
    from template_cases import PINNED_NOW

    from lmforge.templates import core

    monkeypatch.setattr(core, "today", lambda: PINNED_NOW.date())
