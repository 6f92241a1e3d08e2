#!/usr/bin/env bash
# Lamina benchmark: builds the release server, the load generator and the Rust echo function,
# then runs bench/bench.py, which prints the figures and a summary table (see bench/README.md).
# Needs root (execution environments are sandboxed with namespaces and cgroups).
#
# Usage: bench/run.sh [--peer] [bench.py options...]
#   --peer             also measure cargo-lambda on this machine (installs it from PyPI into
#                      ${TMPDIR:-/tmp}/lamina-peers, and `hey` with apt-get when missing)
#   --repeats N        warm repetitions, medians reported [3]
#   --duration S       seconds per throughput run [10]
#   --concurrency "1 8 32"  --n-seq 2000  --cold-runs 15  --memory 1769
#   --skip-warm / --skip-cold
# Environment: CARGO_TARGET_DIR is honoured for lamina; the bench crates build into
# <target>/bench. Results (summary.txt, raw.json, lamina.stderr) go to <target>/bench/results/.
# LAMINA_BIN=/path/to/lamina benchmarks that binary instead of building the work tree.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
case "$target_dir" in /*) ;; *) target_dir="$repo/$target_dir" ;; esac
bench_target="$target_dir/bench"

step() { printf '==> %s\n' "$*" >&2; }

if [[ $(id -u) != 0 ]]; then
    echo "bench/run.sh: run as root (execution environments need namespaces and cgroups)" >&2
    exit 1
fi
for a in "$@"; do
    if [[ $a == --peer ]] && ! command -v oha >/dev/null && ! command -v hey >/dev/null \
        && ! command -v wrk >/dev/null; then
        step "installing hey (the peer script's load tool) with apt-get"
        apt-get install -y -qq hey >/dev/null || { apt-get update -qq && apt-get install -y -qq hey; }
    fi
done

if [[ -n ${LAMINA_BIN:-} ]]; then
    lamina_bin="$LAMINA_BIN"
else
    step "cargo build --release -p lamina"
    (cd "$repo" && cargo build --release -p lamina --quiet)
    lamina_bin="$target_dir/release/lamina"
fi
step "building bench/loadgen and bench/functions/rust-echo (release, into $bench_target)"
(cd "$repo/bench/loadgen" && CARGO_TARGET_DIR="$bench_target" cargo build --release --quiet)
(cd "$repo/bench/functions/rust-echo" && CARGO_TARGET_DIR="$bench_target" cargo build --release --quiet)

exec python3 "$repo/bench/bench.py" \
    --lamina "$lamina_bin" \
    --loadgen "$bench_target/release/loadgen" \
    --rust-echo "$bench_target/release/bootstrap" \
    --out "$bench_target/results/$(date +%Y%m%dT%H%M%S)" \
    "$@"
