#!/usr/bin/env bash
# Copy this checkout to the rover's computer over SSH and install it there as the rover board service.
#   deploy/deploy_over_ssh.sh ubuntu@rover.local --tier jazzy [--boot-config] [--start]  # Raspberry Pi, Ubuntu 24.04
#   deploy/deploy_over_ssh.sh rover@10.0.0.7 --tier pip --dest rover_testbed             # an x86_64 board only
# Everything after the host is passed to install_on_board.sh; --dest (default rover_testbed, relative to
# the remote home) is where the source goes. Needs ssh access with sudo rights on the Pi.
set -euo pipefail
if [ $# -lt 1 ] || [ "${1:0:1}" = - ]; then sed -n '2,6p' "$0"; exit 2; fi
HOST="$1"; shift
DEST=rover_testbed
ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --dest) DEST="$2"; shift 2 ;;
        *) ARGS+=("$1"); shift ;;
    esac
done
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
echo "== copying $SRC to $HOST:$DEST"
rsync -az --delete --exclude .venv --exclude build --exclude install --exclude log --exclude runs \
    --exclude .git --exclude '__pycache__' "$SRC/" "$HOST:$DEST/"
echo "== installing on $HOST"
ssh -t "$HOST" "cd '$DEST' && bash deploy/install_on_board.sh ${ARGS[*]}"
