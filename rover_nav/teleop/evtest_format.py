"""Read `evtest` recordings: the device description and its event stream as plain data.

`evtest /dev/input/eventN > pad.txt` is how a user records what their pad sends; the same text
drives `EvdevJoyMapper` in tests and reproduces a user's report without the hardware. Only the
lines this module needs are parsed:

    Input device name: "Microsoft X-Box 360 pad"
      Event type 1 (EV_KEY)
        Event code 304 (BTN_SOUTH)
      Event type 3 (EV_ABS)
        Event code 0 (ABS_X)
          Value      0
          Min   -32768
          Max    32767
          Fuzz      16
          Flat     128
    Property type 6 (INPUT_PROP_ACCELEROMETER)
    Event: time 1700000000.000100, type 3 (EV_ABS), code 1 (ABS_Y), value -32768
    Event: time 1700000000.000100, -------------- SYN_REPORT ------------
"""

from __future__ import annotations

from dataclasses import dataclass
import re

from rover_nav.teleop.device_select import DeviceInfo
from rover_nav.teleop.evdev_joy import EV_ABS, EV_KEY, EV_SYN, SYN_DROPPED, SYN_REPORT, AxisInfo

_NAME = re.compile(r'^Input device name:\s*"(.*)"\s*$')
_TYPE = re.compile(r'^\s*Event type (\d+)')
_CODE = re.compile(r'^\s*Event code (\d+)')
_ABS_FIELD = re.compile(r'^\s*(Value|Min|Max|Fuzz|Flat|Resolution)\s+(-?\d+)\s*$')
_PROP = re.compile(r'^\s*Property type (\d+)')
_EVENT = re.compile(r'^Event: time (\d+(?:\.\d+)?), type (\d+) \([^)]*\), code (\d+) \([^)]*\), '
                    r'value (-?[0-9a-fA-F]+)\s*$')
_EV_MSC = 4
_HEX_MSC_CODES = (3, 4)  # MSC_RAW, MSC_SCAN: evtest prints these values in hex
_SYN = re.compile(r'^Event: time (\d+(?:\.\d+)?), -+ (SYN_REPORT|SYN_DROPPED) -+')


@dataclass(frozen=True)
class TimedEvent:
    """One input event: kernel timestamp (s), type, code, value."""

    t: float
    type: int
    code: int
    value: int


def parse_evtest(text: str, path: str = '/dev/input/event0') -> tuple[DeviceInfo, list[TimedEvent]]:
    """Parse an evtest recording into the device description and the events in order.

    Raises:
        ValueError: when the text has no device name (not an evtest recording), naming the line
            count read, or an ABS axis lacks Min/Max.
    """
    name: str | None = None
    key_codes: list[int] = []
    axes: list[AxisInfo] = []
    props: list[int] = []
    events: list[TimedEvent] = []
    current_type: int | None = None
    abs_code: int | None = None
    abs_fields: dict[str, int] = {}

    def close_axis() -> None:
        nonlocal abs_code, abs_fields
        if abs_code is not None:
            if 'Min' not in abs_fields or 'Max' not in abs_fields:
                raise ValueError(f'evtest text: ABS code {abs_code} has no Min/Max')
            axes.append(AxisInfo(code=abs_code, minimum=abs_fields['Min'], maximum=abs_fields['Max'],
                                 flat=abs_fields.get('Flat', 0), value=abs_fields.get('Value', 0)))
        abs_code, abs_fields = None, {}

    lines = text.splitlines()
    for line in lines:
        if (m := _EVENT.match(line)) is not None:
            close_axis()
            ev_type, code = int(m.group(2)), int(m.group(3))
            base = 16 if ev_type == _EV_MSC and code in _HEX_MSC_CODES else 10
            events.append(TimedEvent(float(m.group(1)), ev_type, code, int(m.group(4), base)))
        elif (m := _SYN.match(line)) is not None:
            close_axis()
            code = SYN_REPORT if m.group(2) == 'SYN_REPORT' else SYN_DROPPED
            events.append(TimedEvent(float(m.group(1)), EV_SYN, code, 0))
        elif (m := _NAME.match(line)) is not None:
            name = m.group(1)
        elif (m := _TYPE.match(line)) is not None:
            close_axis()
            current_type = int(m.group(1))
        elif (m := _CODE.match(line)) is not None:
            close_axis()
            code = int(m.group(1))
            if current_type == EV_KEY:
                key_codes.append(code)
            elif current_type == EV_ABS:
                abs_code = code
        elif (m := _ABS_FIELD.match(line)) is not None and abs_code is not None:
            abs_fields[m.group(1)] = int(m.group(2))
        elif (m := _PROP.match(line)) is not None:
            close_axis()
            props.append(int(m.group(1)))
    close_axis()
    if name is None:
        raise ValueError(f'evtest text ({len(lines)} lines) has no "Input device name:" line')
    info = DeviceInfo(path=path, name=name, axes=tuple(axes), key_codes=tuple(key_codes), props=tuple(props))
    return info, events
