#!/usr/bin/env bash
# Install the rover stack on the rover's computer and register it as a systemd service.
# Run ON THE BOARD from the source checkout (deploy_over_ssh.sh does that for you):
#   deploy/install_on_board.sh --tier jazzy      # Ubuntu 24.04 + ROS 2 Jazzy, colcon workspace (Raspberry Pi 4/5)
#   deploy/install_on_board.sh --tier pip        # x86_64 only (the ros-jazzy-* wheels): .venv + `rover board`
# Options: --boot-config (enable UART + I2C at 10 kHz, disable the serial console; reboot needed)
#          --start (start the service now)   --dry-run (print the commands, change nothing)
# A Raspberry Pi (aarch64) runs tier 1: PyPI has the ros-jazzy-* wheels for x86_64 only.
set -euo pipefail

TIER=''
BOOT_CONFIG=0
START=0
DRY_RUN=0
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_USER="${SUDO_USER:-$(id -un)}"
WS="${ROVER_WS:-$(getent passwd "$RUN_USER" | cut -d: -f6)/rover_ws}"

MACHINE="${ROVER_MACHINE:-$(uname -m)}"          # overridable for tests
OS_RELEASE="${ROVER_OS_RELEASE:-/etc/os-release}"

usage() { sed -n '2,8p' "$0"; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --tier) TIER="${2:-}"; shift 2 ;;
        --boot-config) BOOT_CONFIG=1; shift ;;
        --start) START=1; shift ;;
        --dry-run) DRY_RUN=1; shift ;;
        --user) RUN_USER="$2"; shift 2 ;;
        -h|--help) usage 0 ;;
        *) echo "unknown option: $1" >&2; usage 2 ;;
    esac
done
case "$TIER" in jazzy|pip) ;; *) echo "--tier jazzy or --tier pip is required" >&2; usage 2 ;; esac

# Refuse what cannot work before changing anything.
if [ "$TIER" = pip ] && [ "$MACHINE" != x86_64 ]; then
    cat >&2 <<EOF
install_on_board.sh: the pip tier cannot install on $MACHINE: PyPI has the ros-jazzy-* wheels
(rclpy, the message packages, Fast DDS) for x86_64 only. A Raspberry Pi runs tier 1:
install Ubuntu 24.04 server (64-bit) on it and use --tier jazzy (ROS 2 Jazzy debs, rosdep, colcon).
EOF
    exit 2
fi
if [ "$TIER" = jazzy ]; then
    CODENAME=$(. "$OS_RELEASE" 2>/dev/null && echo "${VERSION_CODENAME:-}")
    if [ "$CODENAME" != noble ]; then
        echo "install_on_board.sh: --tier jazzy needs Ubuntu 24.04 (noble), the platform of the ROS 2 Jazzy" \
             "packages; this is '${CODENAME:-unknown}' ($OS_RELEASE)" >&2
        exit 2
    fi
fi

run() {  # run (or, with --dry-run, print) one command
    echo "+ $*"
    if [ "$DRY_RUN" = 0 ]; then "$@"; fi
}
as_user() { run sudo -u "$RUN_USER" -H "$@"; }
step() { echo; echo "== $*"; }

step "system packages"
run sudo apt-get update
run sudo apt-get install -y i2c-tools python3-venv python3-dev swig liblgpio-dev python3-lgpio rsync

if [ "$TIER" = jazzy ]; then
    step "ROS 2 Jazzy (ros-base) and the build tools"
    if [ ! -f /opt/ros/jazzy/setup.bash ] || [ "$DRY_RUN" = 1 ]; then
        run sudo apt-get install -y software-properties-common curl
        run sudo add-apt-repository -y universe
        echo "+ install the ros2-apt-source package (https://docs.ros.org/en/jazzy/Installation/Ubuntu-Install-Debs.html)"
        if [ "$DRY_RUN" = 0 ]; then
            version=$(curl -s https://api.github.com/repos/ros-infrastructure/ros-apt-source/releases/latest \
                | grep -F '"tag_name"' | cut -d'"' -f4)
            curl -L -o /tmp/ros2-apt-source.deb \
                "https://github.com/ros-infrastructure/ros-apt-source/releases/download/${version}/ros2-apt-source_${version}.$(. /etc/os-release && echo "$VERSION_CODENAME")_all.deb"
            sudo dpkg -i /tmp/ros2-apt-source.deb
        fi
        run sudo apt-get update
        run sudo apt-get install -y ros-jazzy-ros-base python3-colcon-common-extensions python3-rosdep
    fi
    step "colcon workspace $WS"
    as_user mkdir -p "$WS/src"
    as_user ln -sfn "$SRC" "$WS/src/rover_testbed"
    if [ ! -f /etc/ros/rosdep/sources.list.d/20-default.list ]; then run sudo rosdep init; fi
    as_user rosdep update
    # what the board runs (no test keys); no Gazebo and no simulator on the board. The pip keys
    # (mcap-ros2-support) need PIP_BREAK_SYSTEM_PACKAGES on Ubuntu 24.04 (PEP 668; rosdep's advice).
    as_user bash -c "source /opt/ros/jazzy/setup.bash && PIP_BREAK_SYSTEM_PACKAGES=1 rosdep install \
        --from-paths '$WS/src' --ignore-src -y --dependency-types buildtool --dependency-types exec \
        --skip-keys 'ros_gz_sim ros_gz_bridge python3-mujoco-pip'"
    as_user bash -c "source /opt/ros/jazzy/setup.bash && cd '$WS' && colcon build --symlink-install"
else
    step "embedded tier: virtual environment in $SRC/.venv"
    as_user python3 -m venv "$SRC/.venv"
    as_user touch "$SRC/.venv/COLCON_IGNORE"
    as_user "$SRC/.venv/bin/python" -m pip install --upgrade pip
    as_user "$SRC/.venv/bin/python" -m pip install -r "$SRC/requirements.txt"
    as_user "$SRC/.venv/bin/python" -m pip install lgpio  # Pi-only GPIO library for the e-stop input
    as_user "$SRC/.venv/bin/python" -m pip install --no-deps --no-build-isolation -e "$SRC"
fi

step "device access: groups dialout, i2c, gpio for $RUN_USER; udev rules"
run sudo groupadd -f i2c
run sudo groupadd -f gpio
run sudo usermod -aG dialout,i2c,gpio "$RUN_USER"
run sudo install -m 0644 "$SRC/deploy/udev/99-rover.rules" /etc/udev/rules.d/99-rover.rules
run sudo udevadm control --reload-rules
run sudo udevadm trigger

if [ "$BOOT_CONFIG" = 1 ]; then
    step "boot configuration: UART on, serial console off, I2C on at 10 kHz (BNO055 clock stretching)"
    CONFIG=/boot/firmware/config.txt
    [ -f "$CONFIG" ] || CONFIG=/boot/config.txt
    for line in enable_uart=1 dtparam=i2c_arm=on dtparam=i2c_arm_baudrate=10000; do
        if [ "$DRY_RUN" = 1 ] || ! grep -qx "$line" "$CONFIG"; then
            run sudo sh -c "echo '$line' >> '$CONFIG'"
        fi
    done
    CMDLINE=/boot/firmware/cmdline.txt
    [ -f "$CMDLINE" ] || CMDLINE=/boot/cmdline.txt
    run sudo sed -i -E 's/console=(serial0|ttyAMA0|ttyS0),[0-9]+ ?//g' "$CMDLINE"
    echo "reboot for the boot configuration to take effect"
else
    echo "(boot configuration unchanged: pass --boot-config, or enable UART and I2C by hand, see the README)"
fi

step "systemd service rover-board"
run sudo install -m 0755 "$SRC/deploy/rover-board-start" /usr/local/bin/rover-board-start
run sudo sh -c "sed 's/^User=.*/User=$RUN_USER/' '$SRC/deploy/systemd/rover-board.service' \
    > /etc/systemd/system/rover-board.service"
run sudo sh -c "printf 'ROVER_TIER=%s\nROVER_WS=%s\nROVER_SRC=%s\nROVER_ARGS=\n' '$TIER' '$WS' '$SRC' \
    > /etc/default/rover-board"
run sudo systemctl daemon-reload
run sudo systemctl enable rover-board.service
if [ "$START" = 1 ]; then run sudo systemctl restart rover-board.service; fi

step "done"
echo "next: log out and in (new groups), then run the self-test with the rover on a stand:"
if [ "$TIER" = jazzy ]; then
    echo "  source $WS/install/setup.bash && ros2 run rover_testbed rover hw-check"
else
    echo "  $SRC/.venv/bin/rover hw-check"
fi
echo "then: sudo systemctl start rover-board && journalctl -u rover-board -f"
