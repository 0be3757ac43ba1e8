#!/usr/bin/env bash
# Builds flotilla with warnings as errors and ASan/UBSan, checks formatting,
# and runs the whole suite: unit tests, CLI tests on the real binary, the
# ansible-inventory comparison, and integration tests against real sshd.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

files=$(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find cli core inventory playbooks snapshots tests -name '*.[ch]pp')
clang-format --dry-run --Werror $files

build=${FLOTILLA_TEST_BUILD:-build-test}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFLOTILLA_WERROR=ON -DFLOTILLA_SANITIZE=ON
cmake --build "$build"
# Slow unwinding gives LeakSanitizer whole stacks, which the suppressions match.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(pwd)/tests/lsan.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Suites run two at a time: each fleet has its own addresses, /srv and
# ~/.flotilla per host, so they never share state.
ctest --test-dir "$build" --output-on-failure -j "${FLOTILLA_TEST_JOBS:-2}"
