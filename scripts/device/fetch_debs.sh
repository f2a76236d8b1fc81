#!/usr/bin/env bash
# Downloads (here, where Debian's archive is reachable) the .debs the device
# check unpacks into a private prefix on the GPU machine, which has no
# package registry. Idempotent. Output: .deb/ (ignored by git; name it in
# the device tool's carry).
#   kernels: GoogleTest only.
#   full build (scripts/device/full_build.sh): the toolkit's other libraries,
#   and in fallback/ Debian's copies of what the image may lack.
#   .deb/sample-corpus.h5: the corpus for the NCCL world-of-one training run.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .deb
cd .deb
packages=(
  libgtest-dev
  libhdf5-dev libhdf5-103-1 libsz2 libaec0
  libboost-program-options-dev libboost-program-options1.74-dev libboost-program-options1.74.0
  libboost1.74-dev
  nlohmann-json3-dev libssl-dev libgloo-dev
  libopenblas-dev libopenblas0-pthread libopenblas-pthread-dev libgfortran5
  libsentencepiece-dev libsentencepiece0 sentencepiece libcpp-httplib-dev libcpp-httplib0.11
  libsqlite3-dev libbrotli-dev zlib1g-dev
  pkgconf pkgconf-bin libpkgconf3
)
# Debian's copies of libraries the image probably has (its own are used
# when it does: scripts/device/resolve_libs.sh): libcurl4, which HDF5
# links, and its closure; OpenSSL, zlib, brotli, SQLite, libquadmath.
fallback=(
  libcurl4 libldap-2.5-0 libsasl2-2 libsasl2-modules-db libdb5.3 librtmp1
  libssh2-1 libpsl5 libnghttp2-14 libgssapi-krb5-2 libkrb5-3 libk5crypto3
  libkrb5support0 libkeyutils1 libcom-err2 libgnutls30 libidn2-0
  libunistring2 libgmp10 libhogweed6 libnettle8 libp11-kit0 libtasn1-6
  libffi8 libzstd1 libssl3 zlib1g libbrotli1 libquadmath0 libsqlite3-0
)
download() {
  ls "${1}"_*.deb >/dev/null 2>&1 || apt-get download "$1" 2>/dev/null || echo "fetch_debs: could not download $1"
}
for p in "${packages[@]}"; do download "$p"; done
rm -f libcurl3-gnutls_*.deb  # HDF5 links libcurl4 (OpenSSL), not this
mkdir -p fallback
(cd fallback && for p in "${fallback[@]}"; do download "$p"; done)
# The sample corpus the device check's NCCL run trains on (prepared here,
# where the toolkit and spm_train are built and installed).
if [ ! -f sample-corpus.h5 ] && [ -x ../build/bin/plotforge ]; then
  ../build/bin/plotforge tokenizer train --input ../data/sample --out sample-tok.model --vocab-size 4000 &&
    ../build/bin/plotforge prepare --input ../data/sample --tokenizer sample-tok.model --out sample-corpus.h5 \
      --val-fraction 0.25 --quiet || echo "fetch_debs: could not prepare sample-corpus.h5"
fi
du -sh .
