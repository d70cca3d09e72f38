"""Falcon-H1 instruct (`falcon_h1`): ChatML after the bos token.

The official template has a tool list layout (the system block is then left without `<|im_end|>`), but no
way to render a call, so `falcon_h1` registers no tool format. Falcon 1 (`falcon`) is not provided: see
unavailable.py.
"""

from lmforge.templates.core import Template, register
from lmforge.templates.families.chatml import CHATML

register(Template("falcon_h1", prefix="{bos}", official="falcon-h1.jinja", **CHATML))
