"""A small, typed reading of the rover's URDF: links, joints, shapes, inertias and Gazebo sensor blocks.

Only what the geometry API and the MuJoCo twin need: primitive shapes (box, cylinder, sphere),
fixed/revolute/continuous joints, `<mimic>`, and `<gazebo reference=...><sensor>` elements.
Poses are 4x4 homogeneous matrices (metres); URDF rpy is roll about x, then pitch about y,
then yaw about z, all about fixed axes (R = Rz(yaw) Ry(pitch) Rx(roll)). No rclpy, no xacro here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import math
import xml.etree.ElementTree as ET

import numpy as np

from rover_description.rotations import rpy_matrix


def transform(xyz=(0.0, 0.0, 0.0), rpy=(0.0, 0.0, 0.0)) -> np.ndarray:
    """4x4 homogeneous transform from a translation (m) and URDF rpy (rad)."""
    t = np.eye(4)
    t[:3, :3] = rpy_matrix(*rpy)
    t[:3, 3] = np.asarray(xyz, dtype=float)
    return t


def axis_rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """4x4 rotation by `angle` (rad, right-handed) about the unit `axis` (Rodrigues)."""
    a = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    k = np.array([[0.0, -a[2], a[1]], [a[2], 0.0, -a[0]], [-a[1], a[0], 0.0]])
    t = np.eye(4)
    t[:3, :3] = np.eye(3) + math.sin(angle) * k + (1.0 - math.cos(angle)) * (k @ k)
    return t


@dataclass(frozen=True)
class Shape:
    """A primitive in its link's frame. size: box (x, y, z) full lengths; cylinder (radius, length)
    with its axis along the shape frame's z; sphere (radius,). rgba only for visuals with a colour."""

    kind: str
    size: tuple[float, ...]
    origin: np.ndarray = field(repr=False)
    rgba: tuple[float, float, float, float] | None = None
    material: str | None = None  # the visual's material name (the wheel's grousers are found by it)

    def extent_along(self, frame_to_shape: np.ndarray, direction: np.ndarray) -> tuple[float, float]:
        """(min, max) of the shape's points projected on a unit `direction` of the frame that
        `frame_to_shape` (4x4, shape frame in that frame) is expressed in; exact for all three kinds."""
        d = np.asarray(direction, dtype=float)
        centre = float(frame_to_shape[:3, 3] @ d)
        rot = frame_to_shape[:3, :3]
        local = rot.T @ d  # the direction in the shape's own axes
        if self.kind == 'box':
            half = 0.5 * np.asarray(self.size)
            reach = float(np.abs(local) @ half)
        elif self.kind == 'cylinder':
            radius, length = self.size
            along = abs(float(local[2]))
            reach = along * length / 2 + radius * math.sqrt(max(0.0, 1.0 - along * along))
        else:
            reach = self.size[0]
        return centre - reach, centre + reach


@dataclass(frozen=True)
class Inertial:
    """Mass (kg), centre of mass pose in the link frame and the 3x3 inertia about the COM in that pose's axes."""

    mass: float
    origin: np.ndarray = field(repr=False)
    inertia: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class Link:
    name: str
    inertial: Inertial | None
    visuals: tuple[Shape, ...]
    collisions: tuple[Shape, ...]


@dataclass(frozen=True)
class Mimic:
    joint: str
    multiplier: float
    offset: float


@dataclass(frozen=True)
class Joint:
    """A URDF joint. origin: child frame in the parent frame at q = 0; axis: unit vector in the joint frame.
    Limits are None where the URDF gives none (continuous joints have no position limits)."""

    name: str
    type: str
    parent: str
    child: str
    origin: np.ndarray = field(repr=False)
    axis: np.ndarray = field(repr=False)
    lower: float | None = None
    upper: float | None = None
    effort: float | None = None
    velocity: float | None = None
    damping: float = 0.0
    friction: float = 0.0
    mimic: Mimic | None = None

    @property
    def movable(self) -> bool:
        return self.type in ('revolute', 'continuous', 'prismatic')

    def motion(self, q: float) -> np.ndarray:
        """4x4 motion of the child about the joint axis for position q (rad or m)."""
        if self.type in ('revolute', 'continuous'):
            return axis_rotation(self.axis, q)
        if self.type == 'prismatic':
            t = np.eye(4)
            t[:3, 3] = self.axis * q
            return t
        return np.eye(4)


def _floats(text: str | None, n: int, default: float = 0.0) -> tuple[float, ...]:
    if text is None:
        return (default,) * n
    values = tuple(float(v) for v in text.split())
    if len(values) != n:
        raise ValueError(f'expected {n} numbers, got {text!r}')
    return values


def _origin(elem: ET.Element | None) -> np.ndarray:
    if elem is None:
        return np.eye(4)
    return transform(_floats(elem.get('xyz'), 3), _floats(elem.get('rpy'), 3))


def _shape(elem: ET.Element, materials: Mapping[str, tuple[float, ...]]) -> Shape | None:
    geometry = elem.find('geometry')
    if geometry is None or len(geometry) == 0:
        return None
    g = geometry[0]
    if g.tag == 'box':
        size = _floats(g.get('size'), 3)
    elif g.tag == 'cylinder':
        size = (float(g.get('radius')), float(g.get('length')))
    elif g.tag == 'sphere':
        size = (float(g.get('radius')),)
    else:
        return None  # meshes are not used by this description
    rgba = None
    mat = elem.find('material')
    name = mat.get('name') if mat is not None else None
    if mat is not None:
        color = mat.find('color')
        if color is not None:
            rgba = _floats(color.get('rgba'), 4)
        elif mat.get('name') in materials:
            rgba = materials[mat.get('name')]
    return Shape(g.tag, size, _origin(elem.find('origin')), rgba, name)


def _inertial(elem: ET.Element | None) -> Inertial | None:
    if elem is None:
        return None
    mass = float(elem.find('mass').get('value'))
    i = elem.find('inertia')
    ixx, ixy, ixz, iyy, iyz, izz = (float(i.get(k, '0')) for k in ('ixx', 'ixy', 'ixz', 'iyy', 'iyz', 'izz'))
    tensor = np.array([[ixx, ixy, ixz], [ixy, iyy, iyz], [ixz, iyz, izz]])
    return Inertial(mass, _origin(elem.find('origin')), tensor)


@dataclass(frozen=True)
class UrdfModel:
    """The parsed robot. joints keep file order; gazebo_sensors maps sensor name -> (link, element)."""

    name: str
    links: Mapping[str, Link]
    joints: Mapping[str, Joint]
    gazebo_sensors: Mapping[str, tuple[str, ET.Element]]
    gazebo_refs: Mapping[str, tuple[ET.Element, ...]]

    @property
    def root(self) -> str:
        children = {j.child for j in self.joints.values()}
        roots = [name for name in self.links if name not in children]
        if len(roots) != 1:
            raise ValueError(f'URDF must have exactly one root link, found {roots}')
        return roots[0]

    def child_joints(self, link: str) -> list[Joint]:
        return [j for j in self.joints.values() if j.parent == link]

    def link_transforms(self, positions: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
        """4x4 pose of every link in the root frame for the given joint positions (default all 0);
        mimic joints follow their leader unless given explicitly."""
        q = dict(positions or {})
        for j in self.joints.values():
            if j.mimic is not None and j.name not in q:
                q[j.name] = j.mimic.multiplier * q.get(j.mimic.joint, 0.0) + j.mimic.offset
        poses = {self.root: np.eye(4)}
        stack = [self.root]
        while stack:
            parent = stack.pop()
            for j in self.child_joints(parent):
                poses[j.child] = poses[parent] @ j.origin @ j.motion(q.get(j.name, 0.0))
                stack.append(j.child)
        return poses

    def total_mass(self) -> float:
        return sum(link.inertial.mass for link in self.links.values() if link.inertial is not None)

    def centre_of_mass(self, positions: Mapping[str, float] | None = None) -> np.ndarray:
        """Whole-robot centre of mass (m) in the root frame."""
        poses = self.link_transforms(positions)
        weighted = np.zeros(3)
        for link in self.links.values():
            if link.inertial is not None:
                weighted += link.inertial.mass * (poses[link.name] @ link.inertial.origin)[:3, 3]
        return weighted / self.total_mass()


def parse_urdf(xml: str) -> UrdfModel:
    """Parse URDF text into a `UrdfModel`; raises ValueError on a malformed joint or link reference."""
    root = ET.fromstring(xml)
    if root.tag != 'robot':
        raise ValueError(f'not a URDF: root element is <{root.tag}>')
    materials: dict[str, tuple[float, ...]] = {}
    for mat in root.findall('material'):
        color = mat.find('color')
        if color is not None:
            materials[mat.get('name')] = _floats(color.get('rgba'), 4)
    links: dict[str, Link] = {}
    for le in root.findall('link'):
        visuals = tuple(s for s in (_shape(v, materials) for v in le.findall('visual')) if s is not None)
        collisions = tuple(s for s in (_shape(c, materials) for c in le.findall('collision')) if s is not None)
        links[le.get('name')] = Link(le.get('name'), _inertial(le.find('inertial')), visuals, collisions)
    joints: dict[str, Joint] = {}
    for je in root.findall('joint'):
        name = je.get('name')
        parent, child = je.find('parent').get('link'), je.find('child').get('link')
        for end in (parent, child):
            if end not in links:
                raise ValueError(f'joint {name!r} refers to unknown link {end!r}')
        axis_e = je.find('axis')
        axis = np.asarray(_floats(axis_e.get('xyz') if axis_e is not None else None, 3), dtype=float)
        if not np.any(axis):
            axis = np.array([1.0, 0.0, 0.0])  # the URDF default
        axis = axis / np.linalg.norm(axis)
        lim, dyn, mim = je.find('limit'), je.find('dynamics'), je.find('mimic')

        def attr(e: ET.Element | None, key: str) -> float | None:
            return None if e is None or e.get(key) is None else float(e.get(key))

        joint_type = je.get('type')
        joints[name] = Joint(
            name=name, type=joint_type, parent=parent, child=child,
            origin=_origin(je.find('origin')), axis=axis,
            lower=attr(lim, 'lower') if joint_type != 'continuous' else None,
            upper=attr(lim, 'upper') if joint_type != 'continuous' else None,
            effort=attr(lim, 'effort'), velocity=attr(lim, 'velocity'),
            damping=attr(dyn, 'damping') or 0.0, friction=attr(dyn, 'friction') or 0.0,
            mimic=None if mim is None else Mimic(mim.get('joint'), float(mim.get('multiplier', '1')),
                                                 float(mim.get('offset', '0'))),
        )
    sensors: dict[str, tuple[str, ET.Element]] = {}
    refs: dict[str, list[ET.Element]] = {}
    for ge in root.findall('gazebo'):
        ref = ge.get('reference')
        if ref is None:
            continue
        refs.setdefault(ref, []).append(ge)
        for se in ge.findall('sensor'):
            sensors[se.get('name')] = (ref, se)
    return UrdfModel(root.get('name'), links, joints, sensors, {k: tuple(v) for k, v in refs.items()})
