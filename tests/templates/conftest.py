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
