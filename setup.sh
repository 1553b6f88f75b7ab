#!/bin/sh
# lsock's one entry point for a fresh Debian machine (run as root):
#   sh setup.sh demo   installs what is missing, builds, runs scripts/demo.lua
#   sh setup.sh test   installs what is missing, builds, runs every test
#   sh setup.sh coverage   builds with gcov in build-cov, runs the tests,
#                      prints the line coverage of core/ and bindings/
# Each is idempotent: a second run installs nothing and rebuilds only what
# changed.
set -eu
cd "$(dirname "$0")"

packages="lua5.4 liblua5.4-dev lua-busted cmake gcc make pkg-config libedit-dev
  valgrind luarocks curl socat netcat-openbsd python3 clang libclang-rt-14-dev
  lua-socket util-linux"

install_missing() {
  missing=""
  for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
      missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  echo "setup: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing
}

build() {
  dir=$1
  shift
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)"
}

case "${1:-}" in
demo)
  install_missing
  build build
  ./build/lsock scripts/demo.lua
  ;;
test)
  install_missing
  build build
  # The sanitizer build (ASan + UBSan) runs the C tests and the specs
  # under its own lsock; the plain build runs them under lsock and lua5.4.
  build build-asan -DLSOCK_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
  status=0
  ctest --test-dir build --output-on-failure || status=1
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure || status=1
  # The libFuzzer harnesses of fuzz/ (clang), 30 s each.
  cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DLSOCK_FUZZ=ON >/dev/null
  cmake --build build-fuzz -j "$(nproc)" --target fuzz_addr fuzz_read
  ctest --test-dir build-fuzz -R '^fuzz_' --output-on-failure || status=1
  # The benchmark scripts once each at small sizes: a smoke test that each
  # runs and its output parses, never a speed (bench/run.sh --help).
  sh bench/run.sh --quick || status=1
  exit $status
  ;;
coverage)
  packages="$packages gcovr"
  install_missing
  build build-cov -DLSOCK_COVERAGE=ON -DCMAKE_BUILD_TYPE=Debug
  cmake --build build-cov --target coverage
  ;;
*)
  echo "usage: sh setup.sh demo|test|coverage" >&2
  exit 2
  ;;
esac
