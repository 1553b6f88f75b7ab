#!/bin/sh
# Installs lsock into a temporary prefix, builds the example host from a
# clean directory against it twice (pkg-config, then find_package), runs
# both, and installs the module with luarocks into a temporary tree.
# usage: install.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/lsock include/lsock.h lib/liblsock.a lib/pkgconfig/lsock.pc \
         lib/cmake/lsock/lsockConfig.cmake lib/lua/5.4/lsock.so \
         share/man/man1/lsock.1; do
  [ -e "$prefix/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
ls "$prefix"/lib/liblsock.so.0* >/dev/null || { echo "FAIL: no SONAME"; exit 1; }

run_host() { # $1: the binary
  out=$(cd "$src/examples/host" &&
        LD_LIBRARY_PATH="$prefix/lib" timeout 60 "$1" serve.lua)
  echo "$out"
  echo "$out" | grep -q "host: done, .* ticks, echo ok, policy refused" ||
    { echo "FAIL: unexpected output from $1"; exit 1; }
}

# 1. pkg-config and the example's Makefile, in a clean directory.
mkdir "$tmp/pc"
cp "$src/examples/host/host.c" "$src/examples/host/Makefile" "$tmp/pc/"
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" make -s -C "$tmp/pc" host
run_host "$tmp/pc/host"

# 2. find_package(lsock) and the example's CMakeLists.txt.
cmake -S "$src/examples/host" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$prefix" \
      >/dev/null
cmake --build "$tmp/cm" >/dev/null
run_host "$tmp/cm/host"

# 3. The installed module in stock Lua, and the installed interpreter.
LUA_CPATH="$prefix/lib/lua/5.4/?.so" lua5.4 -e \
  'local s = require "lsock"; assert(s.socket and s.AF_INET)' ||
  { echo "FAIL: lua5.4 cannot require the installed module"; exit 1; }
"$prefix/bin/lsock" -e 'assert(socket.socket)' ||
  { echo "FAIL: the installed lsock does not run"; exit 1; }

# 4. luarocks make into a temporary tree, then require it from lua5.4.
if command -v luarocks >/dev/null 2>&1; then
  cp -r "$src" "$tmp/rock"
  rm -rf "$tmp/rock/build" "$tmp/rock"/build-*
  (cd "$tmp/rock" && luarocks --lua-version=5.4 make --tree "$tmp/tree" \
     lsock-0.1.0-1.rockspec >"$tmp/rock.log" 2>&1) ||
    { cat "$tmp/rock.log"; echo "FAIL: luarocks make"; exit 1; }
  LUA_CPATH="$tmp/tree/lib/lua/5.4/?.so" lua5.4 -e \
    'local s = require "lsock"; assert(s.socket)' ||
    { echo "FAIL: lua5.4 cannot require the rock"; exit 1; }
  echo "ok: luarocks make"
else
  echo "FAIL: luarocks is not installed"
  exit 1
fi
echo "ok: installed, host built with pkg-config and find_package"
