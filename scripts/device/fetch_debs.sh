#!/usr/bin/env bash
# Downloads (here, where Debian's archive is reachable) the .debs the device
# check unpacks into a private prefix on the GPU machine, which has no
# package registry. Idempotent. Output: .deb/ (ignored by git; name it in
# the device tool's carry).
#   kernels: GoogleTest only.
#   full build (scripts/device/full_build.sh): the toolkit's other libraries.
#   .deb/sample-corpus.h5: the corpus for the NCCL world-of-one training run.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .deb
cd .deb
packages=(
  libgtest-dev
  libhdf5-dev libhdf5-103-1 libsz2 libaec0 libcurl3-gnutls
  libboost-program-options-dev libboost-program-options1.74.0 libboost1.74-dev
  nlohmann-json3-dev libssl-dev libgloo-dev
  libopenblas-dev libopenblas0-pthread libopenblas-pthread-dev libgfortran5
)
for p in "${packages[@]}"; do
  ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download "$p" 2>/dev/null || echo "fetch_debs: could not download $p"
done
# The sample corpus the device check's NCCL run trains on (prepared here,
# where the toolkit and spm_train are built and installed).
if [ ! -f sample-corpus.h5 ] && [ -x ../build/bin/plotforge ]; then
  ../build/bin/plotforge tokenizer train --input ../data/sample --out sample-tok.model --vocab-size 4000 &&
    ../build/bin/plotforge prepare --input ../data/sample --tokenizer sample-tok.model --out sample-corpus.h5 \
      --val-fraction 0.25 --quiet || echo "fetch_debs: could not prepare sample-corpus.h5"
fi
du -sh .
