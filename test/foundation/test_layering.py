"""Imports point down the layer order only (docs/architecture.md, Layers).

    0  rover_description                      the model and the data-file lookup (paths)
    1  rover_nav.runtime                      what every node shares: params, QoS, spinning, e-stop link,
                                              ROS-domain claiming, benchmark results
    2  rover_nav.{drive,safety,teleop,tracklog,hardware,link}, rover_sim
                                              the node areas and the simulator: siblings, none imports another
    3  rover_bringup                          the CLI, launch files, runner and the tools that drive the simulator

A module may import its own area and any area of a lower layer. Every import counts, also one inside
a function (a lazy import is still a dependency) and `importlib.import_module('...')` with a literal name.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ('rover_description', 'rover_nav', 'rover_sim', 'rover_bringup')
NODE_AREAS = ('drive', 'safety', 'teleop', 'tracklog', 'hardware', 'link')


def area_of(module: str) -> str | None:
    """The layer area of a dotted module name (`rover_nav.drive.kinematics` -> `rover_nav.drive`)."""
    parts = module.split('.')
    if parts[0] not in PACKAGES:
        return None
    if parts[0] == 'rover_nav':
        # the bare package (its __init__) sits with runtime: it holds nothing but the docstring
        return f'rover_nav.{parts[1]}' if len(parts) > 1 and parts[1] in NODE_AREAS else 'rover_nav.runtime'
    return parts[0]


def layer_of(area: str) -> int:
    if area == 'rover_description':
        return 0
    if area == 'rover_nav.runtime':
        return 1
    if area == 'rover_bringup':
        return 3
    return 2  # rover_sim and the node areas


def allowed(importer: str, imported: str) -> bool:
    """Own area, or a strictly lower layer (so the layer-2 siblings never import each other)."""
    return importer == imported or layer_of(imported) < layer_of(importer)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


def imported_modules(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, dotted name) of every import anywhere in the tree, relative ones resolved."""
    found: list[tuple[int, str]] = []
    package = module.split('.') if is_package else module.split('.')[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                name = '.'.join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ''
            found.append((node.lineno, name))
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == 'import_module')
                   or (isinstance(node.func, ast.Name) and node.func.id in ('import_module', '__import__')))):
            found.append((node.lineno, node.args[0].value))
    return found


def violations(root: Path) -> list[str]:
    """Every import under `root`'s packages that points up the layer order or sideways between siblings."""
    bad = []
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob('*.py')):
            module = module_name(path, root)
            importer = area_of(module)
            tree = ast.parse(path.read_text(encoding='utf-8'), str(path))
            for line, name in imported_modules(tree, module, path.name == '__init__.py'):
                imported = area_of(name)
                if importer and imported and not allowed(importer, imported):
                    bad.append(f'{path.relative_to(root)}:{line}: {importer} (layer {layer_of(importer)}) '
                               f'imports {name} (layer {layer_of(imported)})')
    return bad


def test_every_import_points_down_the_layers():
    bad = violations(ROOT)
    assert not bad, 'imports against the layer order (docs/architecture.md):\n' + '\n'.join(bad)


def test_the_check_sees_upward_sideways_and_lazy_imports(tmp_path):
    """A planted upward import (inside a function), a sideways one and a relative one are all reported."""
    files = {
        'rover_description/model.py': 'def f():\n    from rover_bringup.paths import data_file\n',
        'rover_nav/runtime/qos.py': 'import rover_nav.drive.kinematics\n',
        'rover_nav/drive/node.py': 'from rover_nav.safety import estop_link\nfrom ..runtime import qos\n',
        'rover_sim/bench.py': 'import importlib\nimportlib.import_module("rover_nav.tracklog.bag")\n',
        'rover_sim/terrain/__init__.py': 'from ...rover_bringup import runner\nfrom . import grid\n',
        'rover_bringup/cli.py': 'import rover_sim, rover_nav.drive, rover_description.paths\n',
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    bad = violations(tmp_path)
    assert [b.split(':')[0] for b in bad] == [
        'rover_description/model.py', 'rover_nav/drive/node.py', 'rover_nav/runtime/qos.py',
        'rover_sim/bench.py', 'rover_sim/terrain/__init__.py'], bad
    assert 'imports rover_bringup.paths (layer 3)' in bad[0]
