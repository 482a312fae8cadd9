#!/usr/bin/env bash
# Configures, builds and runs every test of nodus (unit and integration): the README's test
# command. Tests that need hardware this machine lacks exit 77 and are reported as skipped.
#
#   scripts/test.sh [extra cmake -D options...]
#
# The build directory is build-ci (or $NODUS_BUILD_DIR).
set -euo pipefail

cd "$(dirname "$0")/.."
build_dir=${NODUS_BUILD_DIR:-build-ci}

cmake -S . -B "$build_dir" -G Ninja -DNODUS_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build "$build_dir"
ctest --test-dir "$build_dir" --output-on-failure -j2
