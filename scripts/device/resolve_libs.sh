#!/usr/bin/env bash
# Makes the Debian libraries unpacked into PREFIX usable on the GPU
# machine's image, whose own system libraries are not Debian's and whose
# contents we cannot list ahead of time. usage:
#   scripts/device/resolve_libs.sh PREFIX FALLBACK
# PREFIX holds the -dev packages and the libraries the image surely lacks
# (Boost 1.74, HDF5, SentencePiece, ...); FALLBACK holds Debian's copies of
# libraries the image probably has (libcurl4 and its closure, zlib, OpenSSL,
# SQLite, ...). Two repairs, printed as they are made:
#  - a development link PREFIX/.../libX.so whose target was not carried
#    (libssl.so -> libssl.so.3) is pointed at the image's libX.so.N, or at
#    FALLBACK's when the image has none;
#  - every shared library a carried library needs that neither PREFIX nor
#    the image provides is linked from FALLBACK into PREFIX/missing, to the
#    closure. Only what is missing comes from FALLBACK: the image's own
#    (often newer) copies are never shadowed for the image's programs.
# Writes PREFIX/env.sh, which the check's steps source: LD_LIBRARY_PATH
# with PREFIX/usr/lib/x86_64-linux-gnu, its openblas-pthread/
# (libopenblas.so.0) and PREFIX/missing; PATH with PREFIX/usr/bin last
# (spm_train, for `plotforge tokenizer train`).
# IMAGE_SONAMES (a file of names, for trying this on another machine)
# replaces `ldconfig -p` as the list of what the image has.
set -uo pipefail
prefix=$1
fallback=$2
lib=$prefix/usr/lib/x86_64-linux-gnu
missing=$prefix/missing
mkdir -p "$missing"
fallback_dirs=("$fallback/usr/lib/x86_64-linux-gnu" "$fallback/lib/x86_64-linux-gnu")

image_path() {  # image_path SONAME: where the image keeps it, or nothing
  if [ -n "${IMAGE_SONAMES:-}" ]; then
    grep -qx "$1" "$IMAGE_SONAMES" && echo "/image/$1"
  else
    ldconfig -p | awk -v n="$1" '$1 == n { print $NF; exit }'
  fi
}
fallback_path() {  # fallback_path SONAME
  local d
  for d in "${fallback_dirs[@]}"; do
    [ -e "$d/$1" ] && { echo "$d/$1"; return; }
  done
}
take_from_fallback() {  # take_from_fallback SONAME: 0 if now in missing/
  [ -e "$missing/$1" ] && return 0
  local f
  f=$(fallback_path "$1")
  [ -n "$f" ] || return 1
  ln -sf "$(readlink -f "$f")" "$missing/$1"
  echo "resolve_libs: $1 from the fallback (the image has none)"
}

# 1. Development links whose targets were not carried.
for link in "$lib"/*.so; do
  [ -L "$link" ] && [ ! -e "$link" ] || continue
  base=$(basename "$link")            # libssl.so
  soname=$(basename "$(readlink "$link")" | sed -E 's/^(.*\.so\.[0-9]+).*/\1/')  # libssl.so.3
  target=$(image_path "$soname")
  if [ -z "$target" ] && take_from_fallback "$soname"; then target=$missing/$soname; fi
  if [ -n "$target" ]; then
    ln -sf "$target" "$link"
    echo "resolve_libs: $base -> $target"
  fi
done

# 2. The closure of what the carried libraries need.
changed=1
while [ "$changed" = 1 ]; do
  changed=0
  for soname in $(find "$lib" "$missing" -maxdepth 2 -name '*.so*' \( -type f -o -type l \) -exec readelf -d {} \; 2>/dev/null |
    sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort -u); do
    [ -e "$lib/$soname" ] || [ -e "$lib/openblas-pthread/$soname" ] || [ -e "$missing/$soname" ] && continue
    [ -n "$(image_path "$soname")" ] && continue
    if take_from_fallback "$soname"; then changed=1; else echo "resolve_libs: $soname is needed and found nowhere"; fi
  done
done
cat > "$prefix/env.sh" <<ENV
export LD_LIBRARY_PATH=$lib:$lib/openblas-pthread:$missing\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
export PATH=\$PATH:$prefix/usr/bin
ENV
exit 0
