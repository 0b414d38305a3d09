#!/bin/sh
# Build and run the whole test suite (ctest over the Criterion tests).
set -eu
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
