"""A Griffe extension: read a Google-style ``Example:`` section as ``Examples:``.

bachnet's docstrings end with a short ``Example:`` section (the singular title the Google
style guide and Sphinx's napoleon accept). Griffe's Google parser only knows the plural
``Examples:`` as a section; it reads ``Example:`` as an admonition whose body is Markdown, so
doctest lines are not rendered as code and text such as ``[p.name for p in presets()][:1]`` is
taken for a Markdown link. This extension renames a line that is exactly ``Example:`` (at any
indentation) to ``Examples:`` before Griffe parses the docstring, so both spellings render as
highlighted console examples. Loaded by ``mkdocs.yml`` (mkdocstrings' Python handler,
``extensions:``); the package's source is untouched.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_SINGULAR = re.compile(r"^(\s*)Example:[ \t]*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    """Turns ``Example:`` section titles into ``Examples:`` in every docstring."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the docstring of each loaded object before it is parsed."""
        docstring = obj.docstring
        if docstring is not None and "Example:" in docstring.value:
            docstring.value = _SINGULAR.sub(r"\1Examples:", docstring.value)
