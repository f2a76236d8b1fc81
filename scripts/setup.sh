#!/usr/bin/env bash
# Installs everything plotforge builds and tests with, from Debian and PyPI only.
# Idempotent: a second run installs nothing new. Run as root (or with sudo).
set -euo pipefail

DEBIAN_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  clang-format            # scripts/check_format.sh (the format check in scripts/test.sh)
  libtorch-dev            # libtorch 1.13 (CPU)
  libopenblas-dev         # without it Debian's libtorch falls back to reference BLAS (~20x slower)
  libsentencepiece-dev sentencepiece   # spm_train (tokenizer training), spm_encode (benchmark), the library (equivalence test)
  libhdf5-dev             # HDF5 C library
  libboost-program-options-dev
  nlohmann-json3-dev
  libcpp-httplib-dev      # the story server's HTTP (plotforge-run serve), as llama.cpp's server uses
  curl                    # the server tests' second client
  libsqlite3-dev sqlite3  # the stories' database (stories/store.h)
  chromium chromium-driver   # the web player's test in a real (headless) browser
  libssl-dev              # sha256 of tokenizer files (OpenSSL EVP)
  libgtest-dev googletest
  libbenchmark-dev        # Google Benchmark: the CPU kernels' micro-benchmark (kernels/bench/cpu_matmul_bench.cc)
  libgloo-dev             # headers for c10d's ProcessGroupGloo (data parallel on CPUs)
  slurmd slurmctld slurm-client munge   # a one-node cluster for the srun test (scripts/slurm_local.sh)
  python3 python3-pip
  python3-torch python3-numpy   # Debian's python3 + torch 1.13: the PyTorch reference model for parity tests
  python3-sentencepiece python3-psutil python3-yaml   # Llama tokenizers for the fine-tuning tests; peft's and accelerate's needs
)
PYPI_PACKAGES=(numpy h5py tensorboard matplotlib safetensors ml_dtypes nltk openai prometheus_client selenium)   # readers used by tests (h5py, tensorboard, safetensors), plots (matplotlib), BLEU reference (nltk), the server's clients (openai, prometheus_client's text parser, selenium driving Debian's chromium)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: Debian packages already installed"
fi

PY=${PYTHON:-python3}
need_py=()
for m in "${PYPI_PACKAGES[@]}"; do
  "$PY" -c "import $m" 2>/dev/null || need_py+=("$m")
done
if [ ${#need_py[@]} -gt 0 ]; then
  echo "setup: installing PyPI packages: ${need_py[*]}"
  "$PY" -m pip install -q "${need_py[@]}" 2>/dev/null \
    || "$PY" -m pip install -q --break-system-packages "${need_py[@]}"
else
  echo "setup: PyPI packages already installed"
fi

# The reference VADER implementation, pinned: the parity test compares
# plotforge's scorer (emotion/vader.h) with this exact version.
if ! "$PY" -c "import vaderSentiment" 2>/dev/null; then
  echo "setup: installing vadersentiment 3.3.2"
  "$PY" -m pip install -q "vadersentiment==3.3.2" 2>/dev/null \
    || "$PY" -m pip install -q --break-system-packages "vadersentiment==3.3.2"
fi

# Hugging Face transformers beside Debian's torch 1.13, for the test that
# loads an exported bundle with LlamaForCausalLM (4.44.2 works with torch
# 1.13: checked on this project's CI machine). Debian's python3 is
# externally managed, hence --break-system-packages.
if ! /usr/bin/python3 -c "import transformers" 2>/dev/null; then
  echo "setup: installing transformers 4.44.2 for Debian's python3"
  $SUDO /usr/bin/python3 -m pip install -q --break-system-packages "transformers==4.44.2"
fi

# PEFT (the LoRA adapter test loads plotforge's adapter with it) and gguf
# (the GGUF test reads plotforge's file back; transformers loads GGUF files
# through it), for the same python. --no-deps: their dependencies are
# Debian's (above) or transformers'; pip would otherwise replace Debian's
# torch.
if ! /usr/bin/python3 -c "import peft, gguf" 2>/dev/null; then
  echo "setup: installing peft 0.12.0, accelerate 0.33.0 and gguf 0.10.0 for Debian's python3"
  $SUDO /usr/bin/python3 -m pip install -q --break-system-packages --no-deps \
    "peft==0.12.0" "accelerate==0.33.0" "gguf==0.10.0"
fi
