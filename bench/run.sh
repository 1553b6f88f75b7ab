#!/bin/sh
# lsock's benchmark, one command (as root on Debian bookworm):
#
#   sh bench/run.sh                  the full run (about 35 minutes)
#   sh bench/run.sh --quick          small sizes, one repetition (under a minute)
#   sh bench/run.sh --impl c,lsock --workload pingpong,udp --reps 5
#   sh bench/run.sh --help           every option
#
# It installs what is missing (lua5.4 and its headers, Debian's lua-socket
# for the LuaSocket peer, python3, cmake and a C compiler, util-linux for
# taskset, valgrind for the instruction counts), builds lsock as a Release
# build in build-bench/ (git-ignored), compiles the C reference, the load
# generator, the launcher and the Lua floor (a bare Lua module) with -O2
# into build-bench/bench/, raises the descriptor limit for the 10,000
# connections, and runs bench/bench.py, which prints the table and writes it
# to build-bench/bench-results.md (every sample: build-bench/bench-results.json).
# A peer that cannot be installed or run is skipped with a note.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
build=${LSOCK_BENCH_BUILD:-$root/build-bench}

for a in "$@"; do
  case $a in
  -h | --help)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    echo
    exec "${PYTHON:-python3}" bench/bench.py --help
    ;;
  esac
done

# ---- what the peers and the build need, from Debian ----
packages="lua5.4 liblua5.4-dev lua-socket python3 cmake gcc make pkg-config util-linux valgrind"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "bench: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; }; then
    echo "bench: note: could not install$missing; what needs them is skipped" >&2
  fi
fi

# The runner needs a python3; the Python peer is the same one unless PYTHON
# names another interpreter.
if [ -x /usr/bin/python3 ]; then runner=/usr/bin/python3; else runner=python3; fi
python=${PYTHON:-$runner}

# ---- lsock, Release, in its own build directory ----
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target lsock lsock_module >/dev/null

# ---- the C programs: reference, load generator, launcher ----
mkdir -p "$build/bench"
for prog in ref loadgen launch; do
  src=bench/c/$prog.c
  out=$build/bench/$prog
  if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then
    cc -O2 -Wall -Wextra -o "$out" "$src"
  fi
done

# ---- the Lua floor: a Lua module, so built against Lua 5.4's headers ----
so=$build/bench/floor.so
if [ ! -f "$so" ] || [ bench/c/floor.c -nt "$so" ]; then
  # shellcheck disable=SC2046
  cc -O2 -Wall -Wextra -shared -fPIC $(pkg-config --cflags lua5.4) -o "$so" bench/c/floor.c ||
    echo "bench: note: bench/c/floor.c did not build; the Lua floor is skipped" >&2
fi

# ---- 10,000 connections need more than the usual 1,024 descriptors ----
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

exec "$runner" bench/bench.py --bin-dir "$build/bench" --lsock "$build/lsock" \
  --python "$python" --markdown "$build/bench-results.md" \
  --json "$build/bench-results.json" "$@"
