"""PCA9685 16-channel PWM board over I2C (smbus2-style bus object), for the steering servos.

Register use (NXP PCA9685 datasheet): MODE1 0x00 (bit 4 SLEEP, bit 5 auto-increment AI, bit 7
RESTART), MODE2 0x01 (bit 2 OUTDRV totem-pole), LEDn_ON_L at 0x06 + 4n (ON_L, ON_H, OFF_L,
OFF_H; OFF_H bit 4 = full off), PRE_SCALE 0xFE, writable only while asleep.

    prescale = round(f_osc / (4096 * f)) - 1          (f_osc nominally 25 MHz)
    counts   = pulse_us * 1e-6 * f_actual * 4096,      f_actual = f_osc / (4096 * (prescale + 1))
"""

from __future__ import annotations

from collections.abc import Callable
import time
from typing import Any

MODE1 = 0x00
MODE2 = 0x01
LED0_ON_L = 0x06
PRE_SCALE = 0xFE
MODE1_RESTART = 0x80
MODE1_AI = 0x20
MODE1_SLEEP = 0x10
MODE2_OUTDRV = 0x04
FULL_OFF = 0x10  # bit 4 of LEDn_OFF_H
NOMINAL_OSC_HZ = 25_000_000.0
CHANNELS = 16


class PCA9685Error(OSError):
    """The board did not take its configuration (wrong address, bus error, prescale not written)."""


def prescale_for(frequency_hz: float, oscillator_hz: float = NOMINAL_OSC_HZ) -> int:
    """PRE_SCALE register value for a PWM frequency; raises ValueError outside 3..255."""
    value = int(round(oscillator_hz / (4096.0 * frequency_hz))) - 1
    if not 3 <= value <= 255:
        raise ValueError(f'PWM frequency {frequency_hz} Hz needs prescale {value}, outside 3..255')
    return value


def frequency_for(prescale: int, oscillator_hz: float = NOMINAL_OSC_HZ) -> float:
    return oscillator_hz / (4096.0 * (prescale + 1))


def pulse_counts(pulse_us: float, frequency_hz: float) -> int:
    """12-bit OFF count for a pulse of `pulse_us` at `frequency_hz`, clamped to 0..4095."""
    counts = int(round(pulse_us * 1e-6 * frequency_hz * 4096.0))
    return max(0, min(4095, counts))


class PCA9685:
    def __init__(self, bus: Any, address: int = 0x40, oscillator_hz: float = NOMINAL_OSC_HZ,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.bus = bus
        self.address = address
        self.oscillator_hz = oscillator_hz
        self._sleep = sleep
        self.frequency_hz = 0.0

    def configure(self, frequency_hz: float) -> float:
        """Set the PWM frequency (sleep, write prescale, wake, restart); returns the actual Hz."""
        prescale = prescale_for(frequency_hz, self.oscillator_hz)
        self.bus.write_byte_data(self.address, MODE1, MODE1_SLEEP | MODE1_AI)
        self.bus.write_byte_data(self.address, MODE2, MODE2_OUTDRV)
        self.bus.write_byte_data(self.address, PRE_SCALE, prescale)
        self.bus.write_byte_data(self.address, MODE1, MODE1_AI)
        self._sleep(0.0005)  # oscillator start-up, 500 us per the datasheet
        self.bus.write_byte_data(self.address, MODE1, MODE1_AI | MODE1_RESTART)
        readback = self.bus.read_byte_data(self.address, PRE_SCALE)
        if readback != prescale:
            raise PCA9685Error(f'PCA9685 at 0x{self.address:02x}: prescale reads {readback}, wrote {prescale}')
        self.frequency_hz = frequency_for(prescale, self.oscillator_hz)
        return self.frequency_hz

    def _check_channel(self, channel: int) -> None:
        if not 0 <= channel < CHANNELS:
            raise ValueError(f'PCA9685 channel must be 0..15, got {channel}')
        if self.frequency_hz <= 0:
            raise PCA9685Error('PCA9685 not configured: call configure() first')

    def set_pulse_us(self, channel: int, pulse_us: float) -> int:
        """Output a pulse of `pulse_us` on `channel` (ON at count 0); returns the OFF count written."""
        self._check_channel(channel)
        off = pulse_counts(pulse_us, self.frequency_hz)
        self.bus.write_i2c_block_data(self.address, LED0_ON_L + 4 * channel, [0, 0, off & 0xFF, off >> 8])
        return off

    def channel_off(self, channel: int) -> None:
        """No pulses at all on `channel` (the servo goes limp)."""
        self._check_channel(channel)
        self.bus.write_i2c_block_data(self.address, LED0_ON_L + 4 * channel, [0, 0, 0, FULL_OFF])

    def read_pulse_us(self, channel: int) -> float:
        """The pulse currently programmed on `channel` (us), read back from the registers."""
        self._check_channel(channel)
        on_l, on_h, off_l, off_h = self.bus.read_i2c_block_data(self.address, LED0_ON_L + 4 * channel, 4)
        if off_h & FULL_OFF:
            return 0.0
        counts = ((off_h & 0x0F) << 8 | off_l) - ((on_h & 0x0F) << 8 | on_l)
        return counts / 4096.0 / self.frequency_hz * 1e6
