#!/bin/sh
# Only lsock_* and luaopen_lsock may leave the shared library, and only
# luaopen_lsock the module: everything else is hidden.
# usage: symbols.sh liblsock.so lsock.so
set -eu
status=0
for lib in "$1" "$2"; do
  # Defined, exported symbols of the dynamic table.
  syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}')
  bad=$(echo "$syms" | grep -v -E '^(lsock_[a-z_]+|luaopen_lsock)$' || true)
  if [ -n "$bad" ]; then
    echo "FAIL: $lib exports more than lsock_* and luaopen_lsock:"
    echo "$bad"
    status=1
  fi
  echo "$syms" | grep -qx luaopen_lsock || {
    echo "FAIL: $lib does not export luaopen_lsock"
    status=1
  }
done
count=$(nm -D --defined-only "$1" | awk '$2 == "T"' | wc -l)
[ "$count" -ge 10 ] || { echo "FAIL: only $count functions in $1"; status=1; }
[ $status -eq 0 ] && echo "ok: $count exported functions, all lsock_* or luaopen_lsock"
exit $status
