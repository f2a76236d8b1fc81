#!/usr/bin/env bash
# plotforge-run is the runtime that deploys without libtorch and HDF5: fails
# if the program named by $1, or any library it loads (ldd), is libtorch,
# c10 or HDF5. It also must not itself need OpenSSL (DT_NEEDED): sha256
# lives with the datasets. (Debian's cpp-httplib, which the server uses, is
# built with HTTPS support and loads libssl itself; plotforge does not use
# it, and this test says so rather than hiding it.)
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
loaded=$(ldd "$prog" | awk '{print $1}')
bad=$(echo "$loaded" | grep -E '^lib(torch|c10|hdf5)' || true)
if [ -n "$bad" ]; then
  echo "FAIL: $prog loads, through its libraries: $bad" >&2
  exit 1
fi
via=$(echo "$loaded" | grep -E '^lib(ssl|crypto)' | tr '\n' ' ' || true)
echo "ok: no libtorch, c10 or HDF5 anywhere in what it loads; no OpenSSL of its own${via:+ (loaded by cpp-httplib: $via)}"
