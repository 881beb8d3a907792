"""The real rover board: drivers for the RoboClaw motor controllers, the PCA9685 servo board, the
BNO055 IMU and the GPIO e-stop, their emulators/fakes, the pure cores (wheel mapping, watchdog,
battery, steering model) and the `hardware_driver` lifecycle node (ROVER_SPEC section 7).

Device modules import their system libraries (pyserial, smbus2, lgpio/gpiozero) lazily, so the
cores and the emulators work on any machine.
"""
