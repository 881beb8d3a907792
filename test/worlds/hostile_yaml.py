"""Shared hostile YAML texts for the world and scenario tests (an alias bomb: 9 levels of 9 aliases)."""

from __future__ import annotations

_LEVELS = ''.join(
    f'  l{i + 1}: &l{i + 1} [' + ', '.join([f'*l{i}'] * 9) + ']\n' for i in range(8))
ALIAS_BOMB_WORLD = ('name: bomb\nsize_m: [10.0, 10.0]\nresolution_m: 0.1\nterrain:\n  seed: &a 1\n'
                    '  l0: &l0 [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n' + _LEVELS + 'gravity: *l8\n')
#: The same bomb as a scenario value (rate_hz): the old error message repr()'d all 9^9 elements.
ALIAS_BOMB_SCENARIO = ('name: bomb\nx0: &a 1\n' + _LEVELS.replace('  l', 'l').replace('*l0', '*a')
                       + 'rate_hz: *l8\ncommands: [{duration_s: 1}]\n')
