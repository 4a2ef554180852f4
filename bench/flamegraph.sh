#!/usr/bin/env bash
# A flame graph of a running host under load: perf samples the process while oha loads a URL.
#
#   bench/flamegraph.sh PID URL [OUT.svg] [SECONDS]
#
# e.g. `target/release/fn-host up --perf-map &` (so perf names the guests' functions), then
# `bench/flamegraph.sh $! http://127.0.0.1:3000/public-api/listings`. Needs perf, inferno
# (`cargo install inferno`: inferno-collapse-perf, inferno-flamegraph) and oha (OHA, else
# `oha` on PATH, else the one the bench installed in target/bench-tools). Flame graphs are
# made, not kept in the repository.
set -euo pipefail
pid=${1:?usage: bench/flamegraph.sh PID URL [OUT.svg] [SECONDS]}
url=${2:?usage: bench/flamegraph.sh PID URL [OUT.svg] [SECONDS]}
out=${3:-flamegraph.svg}
seconds=${4:-10}
oha=${OHA:-$(command -v oha || echo "$(dirname "$0")/../target/bench-tools/bin/oha")}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# The load starts first and outlasts the recording by a second on each side.
"$oha" --no-tui -z "$((seconds + 2))s" -c 64 "$url" >/dev/null &
load=$!
sleep 1
perf record -F 999 --call-graph dwarf -p "$pid" -o "$scratch/perf.data" -- sleep "$seconds"
wait "$load"
perf script -i "$scratch/perf.data" --no-inline \
    | inferno-collapse-perf \
    | inferno-flamegraph --minwidth 0.5 >"$out"
echo "wrote $out"
