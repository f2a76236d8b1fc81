#!/usr/bin/env bash
# Downloads (here, where Debian's archive is reachable) the .debs that the
# device check unpacks into a private prefix on the GPU machine, which has no
# package registry. Idempotent. Output: .deb/ (ignored by git, carried).
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .deb
cd .deb
for p in libgtest-dev; do
  ls ${p}_*.deb >/dev/null 2>&1 || apt-get download "$p"
done
ls -la
