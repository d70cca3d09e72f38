"""docs/templates.md lists every registered template (a row of the table) and every unavailable name."""

import re
from pathlib import Path

from lmforge.templates.core import _UNAVAILABLE, list_templates

DOCS = Path(__file__).resolve().parents[2] / "docs" / "templates.md"


def test_every_template_has_a_row():
    rows = set(re.findall(r"^\| `([^`]+)`(?:, `([^`]+)`)? \|", DOCS.read_text(encoding="utf-8"), re.M))
    documented = {name for row in rows for name in row if name}
    assert set(list_templates()) <= documented, set(list_templates()) - documented
    assert set(_UNAVAILABLE) <= documented, set(_UNAVAILABLE) - documented
