"""YAML for user-supplied files (worlds, scenarios): bounded in size, no aliases.

`yaml.safe_load` is safe from code execution but not from an alias bomb: nine anchors, each a
list of nine aliases to the previous one, expand to 9^9 references when anything walks the
result (a `repr()` in an error message took 30 s and 3.2 GB). A world or scenario file never
needs aliases, so they are refused while parsing (before anything expands), and the file size
is capped. `short_repr` bounds what an error message shows of a value.
"""

from __future__ import annotations

import reprlib
from typing import Any

import yaml

#: Largest world or scenario file accepted (bytes); the shipped ones are a few kB.
MAX_YAML_BYTES = 1_000_000


class YamlLimitError(ValueError):
    """The document breaks a limit (size, alias); the message says which and where."""


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases (`*name`): nothing can expand beyond the text itself."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.events.AliasEvent):
            event = self.peek_event()
            mark = event.start_mark
            raise YamlLimitError(f'line {mark.line + 1}: YAML aliases (*{event.anchor}) are not allowed here; '
                                 'write the value out')
        return super().compose_node(parent, index)


def load_bounded(text: str | bytes, max_bytes: int = MAX_YAML_BYTES) -> Any:
    """Parse one YAML document like `yaml.safe_load`, refusing aliases and texts over `max_bytes`.

    Raises YamlLimitError for a broken limit and yaml.YAMLError for invalid YAML.
    """
    size = len(text.encode() if isinstance(text, str) else text)
    if size > max_bytes:
        raise YamlLimitError(f'{size} bytes: larger than the {max_bytes} byte limit')
    return yaml.load(text, Loader=_NoAliasLoader)


_SHORT = reprlib.Repr()
_SHORT.maxstring = 60
_SHORT.maxother = 60
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 6
_SHORT.maxlevel = 3
_SHORT.maxlong = 40


SHORT_REPR_CHARS = 160


def short_repr(value: Any) -> str:
    """repr() for error messages, bounded in length and depth whatever the value holds."""
    text = _SHORT.repr(value)
    return text if len(text) <= SHORT_REPR_CHARS else text[:SHORT_REPR_CHARS - 3] + '...'

