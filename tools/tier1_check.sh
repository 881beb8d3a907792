#!/usr/bin/env bash
# Tier-1 conformance job: the real ROS tools (from PyPI) on a clean copy of this repository, with
# Ubuntu 24.04's Python package versions.
#   1. .venv-noble/ (cached): requirements-noble.txt (numpy 1.26.4, setuptools 68.1.2, pytest 7.4.4, ...)
#      plus the rest of requirements.txt / requirements-dev.txt, colcon-core, colcon-ros,
#      colcon-test-result, ament_package, rosdep;
#   2. a colcon workspace in a temporary folder, src/rover_testbed = the files git knows (tracked and
#      untracked-not-ignored: the working tree, without .venv*);
#   3. colcon build --symlink-install; colcon test (pytest, -n 2); colcon test-result --verbose; fails
#      unless colcon ran every test that pytest collects there (and at least TIER1_MIN_TESTS) and all passed;
#      the selection is TIER1_MARK: every test but the long simulated drives (markers e2e, slow: the main
#      job runs them), except those marked tier1 (the default egress and a process-per-node drive);
#   4. rosdep check/resolve for ubuntu:noble against the offline Jazzy snapshot (../shared/rosdistro).
# Usage: tools/tier1_check.sh [--setup-only] [--keep] [PYTEST_ARGS...]   (e.g. test/sim test/worlds)
# Environment: PYTHON (python3), NOBLE_VENV (.venv-noble), ROSDISTRO_SNAPSHOT (../shared/rosdistro),
#              TIER1_MIN_TESTS (whole-suite floor), TIER1_JOBS (2), TIER1_WS (workspace folder; default: temp),
#              TIER1_MARK (pytest -m expression; default 'tier1 or not (e2e or slow)'; '' = every test)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${NOBLE_VENV:-$ROOT/.venv-noble}"
SNAPSHOT="${ROSDISTRO_SNAPSHOT:-$ROOT/../shared/rosdistro}"
SNAPSHOT="$(cd "$SNAPSHOT" 2>/dev/null && pwd || echo "$SNAPSHOT")"  # absolute: the tests run elsewhere
MIN_TESTS="${TIER1_MIN_TESTS:-1000}"
JOBS="${TIER1_JOBS:-2}"
MARK="${TIER1_MARK-tier1 or not (e2e or slow)}"
SETUP_ONLY=0
KEEP=0
SELECTION=()
while [ $# -gt 0 ]; do
    case "$1" in
        --setup-only) SETUP_ONLY=1 ;;
        --keep) KEEP=1 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) SELECTION+=("$1") ;;
    esac
    shift
done
CI_STRICT=0
[ "${CI:-}" = true ] && CI_STRICT=1
say() { echo; echo "== tier1: $*"; }
fail() { echo "tier1: FAILED: $*" >&2; exit 1; }
START=$SECONDS

# --- 1. the noble-pinned virtual environment, rebuilt when a requirements file changes ----------------
# requirements-noble.txt wins over the embedded tier's pins; ruff and mypy are not needed here.
NOBLE_PINNED='numpy|pyyaml|matplotlib|setuptools|pytest|empy|pluggy|ruff|mypy|types-pyyaml'
noble_requirements() {
    cat "$ROOT/requirements-noble.txt"
    grep -hviE "^[[:space:]]*(-r|($NOBLE_PINNED)[[:space:]]*[=<>~!])" "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt"
}
WANT="$(noble_requirements | sha256sum | cut -d' ' -f1) $("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"
if [ "$(cat "$VENV/.installed" 2>/dev/null)" != "$WANT" ]; then
    say "building $VENV (Ubuntu 24.04 versions; Python $("$PYTHON" -V 2>&1 | cut -d' ' -f2) here, 3.12 on noble)"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    touch "$VENV/COLCON_IGNORE"
    noble_requirements > "$VENV/requirements.txt"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    # pip itself would pull the newest setuptools into an isolated build: pin it there too
    PIP_CONSTRAINT="$ROOT/requirements-noble.txt" "$VENV/bin/python" -m pip install --quiet -r "$VENV/requirements.txt"
    "$VENV/bin/python" -m pip check
    echo "$WANT" > "$VENV/.installed"
fi
"$VENV/bin/python" - <<'EOF'
import importlib.metadata as md
want = {'numpy': '1.26.4', 'setuptools': '68.1.2', 'pytest': '7.4.4', 'PyYAML': '6.0.1', 'matplotlib': '3.6.3'}
have = {name: md.version(name) for name in want}
bad = {n: v for n, v in have.items() if v != want[n]}
assert not bad, f'.venv-noble does not have noble versions: {bad}'
print('tier1: noble versions:', ', '.join(f'{n} {v}' for n, v in have.items()))
EOF
[ "$SETUP_ONLY" = 1 ] && exit 0

export PATH="$VENV/bin:$PATH"
unset PYTHONPATH AMENT_PREFIX_PATH COLCON_PREFIX_PATH CMAKE_PREFIX_PATH VIRTUAL_ENV ROS_DISTRO

# --- 2. a colcon workspace from a clean copy ------------------------------------------------------------
if [ -n "${TIER1_WS:-}" ]; then WS="$TIER1_WS"; rm -rf "$WS"; mkdir -p "$WS"; else WS="$(mktemp -d "${TMPDIR:-/tmp}/rover-tier1.XXXXXX")"; fi
cleanup() {
    local rc=$?
    if [ "$rc" = 0 ] && [ "$KEEP" = 0 ]; then rm -rf "$WS"; else echo "tier1: workspace kept in $WS"; fi
}
trap cleanup EXIT
PKG="$WS/src/rover_testbed"
mkdir -p "$PKG"
say "workspace $WS (a copy of the files git knows)"
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    # tracked and untracked-not-ignored files of the working tree; deleted ones are skipped
    git -C "$ROOT" ls-files -z --cached --others --exclude-standard \
        | (cd "$ROOT" && xargs -0 -r sh -c 'for f; do [ -f "$f" ] && printf "%s\0" "$f"; done' sh) \
        | tar -C "$ROOT" --null -T - -cf - | tar -C "$PKG" -xf -
else
    tar -C "$ROOT" --exclude='./.venv*' --exclude=./build --exclude=./install --exclude=./log --exclude=./runs \
        --exclude=__pycache__ -cf - . | tar -C "$PKG" -xf -
fi
[ -f "$PKG/package.xml" ] || fail "the copy has no package.xml"
cd "$WS"

# --- 3. colcon build, test, test-result -----------------------------------------------------------------
say "colcon build --symlink-install"
colcon build --symlink-install
set +u  # the setup scripts read unset variables
# shellcheck disable=SC1091
source "$WS/install/setup.bash"
set -u
export ROSDISTRO_SNAPSHOT="$SNAPSHOT"  # for the suite's own offline rosdep-key test

say "the installed package: console scripts, data files"
# what `ros2 run rover_testbed rover ...` starts, and the data it reads from share/
"$WS/install/rover_testbed/lib/rover_testbed/rover" --help >/dev/null
for kind in launch config scenarios urdf worlds; do
    [ -d "$WS/install/rover_testbed/share/rover_testbed/$kind" ] || fail "share/rover_testbed/$kind not installed"
done

say "a plain (copying) colcon build reads its data from the install, not from the source tree"
# --symlink-install imports the source tree; a plain install must find its data through ament_index
colcon build --build-base build-copy --install-base install-copy >/dev/null
(
    set +u
    # shellcheck disable=SC1091
    source "$WS/install-copy/setup.bash"
    set -u
    cd "$WS"
    python - <<'EOF'
from pathlib import Path
from rover_description.paths import data_file
prefix = Path('install-copy/rover_testbed').resolve()
for kind, name in [('config', 'rover.yaml'), ('worlds', 'change4.yaml'), ('urdf', 'rover.urdf.xacro'),
                   ('scenarios', 'egress.yaml'), ('launch', 'sim.launch.py')]:
    path = data_file(kind, name)
    assert path.is_relative_to(prefix), f'{kind}/{name} read from {path}, not from the install {prefix}'
    print(f'tier1: {kind}/{name}: {path.relative_to(prefix)}')
EOF
    "$WS/install-copy/rover_testbed/lib/rover_testbed/rover" describe --help >/dev/null
)

say "pytest --collect-only (the count colcon test must reach)"
MARK_ARGS=()
[ -n "$MARK" ] && MARK_ARGS=(-m "$MARK")
echo "tier1: selection: ${SELECTION[*]:-the whole suite}${MARK:+, -m '$MARK'}"
COLLECT_OUT=$(cd "$PKG" && python -m pytest --collect-only -q -rs -p no:cacheprovider "${MARK_ARGS[@]}" "${SELECTION[@]}" 2>&1) \
    || { echo "$COLLECT_OUT" | tail -n 30; fail "pytest --collect-only failed"; }
# "N tests collected", N/M with -m; "=== ... ===" around it when PYTEST_ADDOPTS has -v (cancelling -q)
COLLECTED=$(echo "$COLLECT_OUT" | tail -n 1 | sed -nE 's#^(=+ )?([0-9]+)(/[0-9]+)? tests? collected.*#\2#p')
[ -n "$COLLECTED" ] || fail "pytest --collect-only found no tests"
# a file skipped as a whole (launch_testing absent here) is one skipped test case in colcon's result
FILE_SKIPS=$(echo "$COLLECT_OUT" | sed -nE 's/^SKIPPED \[([0-9]+)\].*/\1/p' | awk '{n += $1} END {print n + 0}')
EXPECTED=$(( COLLECTED + FILE_SKIPS ))
echo "tier1: $COLLECTED tests collected, $FILE_SKIPS files skipped whole: colcon must report $EXPECTED"
if [ "${#SELECTION[@]}" = 0 ] && [ "$COLLECTED" -lt "$MIN_TESTS" ]; then
    fail "only $COLLECTED tests collected, expected at least $MIN_TESTS (TIER1_MIN_TESTS)"
fi

say "colcon test (pytest -n $JOBS)"
PYTEST_ARGS=(' -n' "$JOBS" ' --dist' loadgroup)
[ -n "$MARK" ] && PYTEST_ARGS+=(' -m' "$MARK")  # a leading space: colcon must not read it as its own option
colcon test --event-handlers console_direct+ --pytest-args "${PYTEST_ARGS[@]}" "${SELECTION[@]}"

say "colcon test-result --verbose"
set +e
RESULT=$(colcon test-result --verbose --test-result-base build/rover_testbed)
RESULT_RC=$?
set -e
echo "$RESULT"
SUMMARY=$(echo "$RESULT" | grep -E '^Summary: ' | tail -n 1)
[ -n "$SUMMARY" ] || fail "colcon test-result printed no summary"
read -r TOTAL ERRORS FAILURES < <(echo "$SUMMARY" \
    | sed -nE 's/^Summary: ([0-9]+) tests?, ([0-9]+) errors?, ([0-9]+) failures?.*/\1 \2 \3/p')
[ "$RESULT_RC" = 0 ] && [ "$ERRORS" = 0 ] && [ "$FAILURES" = 0 ] || fail "colcon test-result: $SUMMARY"
[ "$TOTAL" = "$EXPECTED" ] || fail "colcon ran $TOTAL tests, pytest collects $EXPECTED: not the whole suite"

# --- 4. rosdep against the offline Jazzy snapshot -----------------------------------------------------
say "rosdep for ubuntu:noble, jazzy (offline snapshot $SNAPSHOT)"
if [ ! -f "$SNAPSHOT/rosdep/base.yaml" ]; then
    [ "$CI_STRICT" = 1 ] && fail "no rosdistro snapshot at $SNAPSHOT (set ROSDISTRO_SNAPSHOT)"
    echo "tier1: SKIPPED rosdep: no snapshot at $SNAPSHOT (set ROSDISTRO_SNAPSHOT)"
else
    mkdir -p "$WS/rosdep/sources.list.d"
    printf 'yaml file://%s/rosdep/base.yaml\nyaml file://%s/rosdep/python.yaml\n' "$SNAPSHOT" "$SNAPSHOT" \
        > "$WS/rosdep/sources.list.d/20-default.list"
    export ROSDEP_SOURCE_PATH="$WS/rosdep/sources.list.d" ROSDISTRO_INDEX_URL="file://$SNAPSHOT/index-v4.yaml" \
           ROS_DISTRO=jazzy ROS_HOME="$WS/rosdep/home"
    rosdep update
    # `rosdep check` also asks whether each package is installed, and this machine is not Ubuntu:
    # only "could not resolve" is a failure here; what a noble machine would install is printed.
    set +e
    CHECK=$(rosdep check --from-paths src --ignore-src --os=ubuntu:noble --rosdistro=jazzy 2>&1)
    set -e
    echo "$CHECK" | sed 's/^/  rosdep check: /'
    if echo "$CHECK" | grep -qiE 'could not (have their rosdep keys )?resolve|Cannot locate rosdep definition'; then
        fail "rosdep cannot resolve every key of package.xml"
    fi
    KEYS=$(rosdep keys --from-paths src --ignore-src | sort -u | tr '\n' ' ')
    echo "tier1: rosdep keys: $KEYS"
    # shellcheck disable=SC2086
    rosdep resolve --os=ubuntu:noble --rosdistro=jazzy $KEYS > "$WS/rosdep/resolved.txt" \
        || fail "rosdep resolve failed: $(cat "$WS/rosdep/resolved.txt")"
    echo "tier1: every key resolves ($(grep -c '^#ROSDEP' "$WS/rosdep/resolved.txt") keys):" \
         "$(grep -c '^#apt' "$WS/rosdep/resolved.txt") apt, $(grep -c '^#pip' "$WS/rosdep/resolved.txt") pip"
fi

say "passed: colcon $SUMMARY; $(( SECONDS - START )) s"
