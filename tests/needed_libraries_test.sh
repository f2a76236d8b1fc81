#!/usr/bin/env bash
# Fails if the program named by $1 needs (DT_NEEDED) libtorch, c10, HDF5 or
# OpenSSL: plotforge-run is the runtime that deploys without them.
set -euo pipefail
prog=$1
needed=$(readelf -d "$prog" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
if [ -z "$needed" ]; then
  echo "FAIL: readelf found no NEEDED entries in $prog" >&2
  exit 1
fi
echo "$prog needs:"
echo "$needed" | sed 's/^/  /'
bad=$(echo "$needed" | grep -E '^lib(torch|c10|hdf5|ssl|crypto)' || true)
if [ -n "$bad" ]; then
  echo "FAIL: $prog must not need: $bad" >&2
  exit 1
fi
echo "ok: no libtorch, c10, HDF5 or OpenSSL"
