#!/usr/bin/env bash
# The programs run OpenBLAS's kernels for the CPU they are on: where
# OpenBLAS falls back to an old core (Prescott on CPUs newer than it), the
# program re-executes itself with OPENBLAS_CORETYPE set
# (programs/common/blas_kernels.h); a user's own OPENBLAS_CORETYPE wins;
# the arguments survive the re-exec. $@: the programs to check.
set -euo pipefail
fallbacks='Prescott|Core2|Penryn|Dunnington|Nehalem|Atom'
for prog in "$@"; do
  out=$(env -u OPENBLAS_CORETYPE -u PLOTFORGE_BLAS_DETECTED "$prog" system)
  echo "$out" | sed "s#^#$(basename "$prog"): #"
  [ "$(echo "$out" | grep -c '^cpu:')" = 1 ] || { echo "FAIL: $prog system printed its report $(echo "$out" | grep -c '^cpu:') times" >&2; exit 1; }
  cpu=$(echo "$out" | sed -n 's/^cpu: //p')
  blas=$(echo "$out" | sed -n 's/^blas: //p')
  case "$blas" in
    OpenBLAS*) ;;
    *) echo "skip: $prog does not load OpenBLAS ($blas)"; continue ;;
  esac
  if [[ " $cpu " == *" avx2 "* ]] && echo "$blas" | grep -Eq "^OpenBLAS [^,]*, ($fallbacks) kernels"; then
    echo "FAIL: $prog runs OpenBLAS's fallback kernels on a CPU with AVX2: $blas" >&2
    exit 1
  fi
  # What OpenBLAS itself detects, seen from its verbose start-up line.
  detected=$(env -u OPENBLAS_CORETYPE -u PLOTFORGE_BLAS_DETECTED OPENBLAS_VERBOSE=2 "$prog" system 2>&1 >/dev/null |
    sed -n 's/^Core: //p' | head -1)
  if echo "$detected" | grep -Eq "^($fallbacks)$" && [[ " $cpu " == *" avx2 "* ]]; then
    echo "$blas" | grep -q "set by plotforge: OpenBLAS detected $detected" ||
      { echo "FAIL: OpenBLAS detected $detected but $prog's note does not say it corrected it: $blas" >&2; exit 1; }
  fi
  if [[ " $cpu " == *" avx2 "* ]]; then
    user=$(OPENBLAS_CORETYPE=Haswell "$prog" system | sed -n 's/^blas: //p')
    [[ "$user" == *", Haswell kernels (OPENBLAS_CORETYPE=Haswell)" ]] ||
      { echo "FAIL: $prog did not keep the user's OPENBLAS_CORETYPE=Haswell: $user" >&2; exit 1; }
  fi
  set +e
  err=$(env -u OPENBLAS_CORETYPE "$prog" no-such-command 2>&1 >/dev/null)
  rc=$?
  set -e
  [ $rc = 2 ] && [[ "$err" == *"unknown command 'no-such-command'"* ]] ||
    { echo "FAIL: $prog lost its arguments across the re-exec (exit $rc: $err)" >&2; exit 1; }
done
echo ok
