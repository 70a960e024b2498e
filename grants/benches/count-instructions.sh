#!/usr/bin/env bash
# Counts the instructions of each benchmarked operation and of its floor under callgrind,
# instead of timing them: figures a busy machine does not move. Needs valgrind.
#
#   bash grants/benches/count-instructions.sh grantry-grants      (or grantry-extensions)
set -euo pipefail
# From the workspace root, where cargo's "Executable" paths start.
cd "$(dirname "$0")/../.."
package=${1:-grantry-grants}
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
binary=$(cargo bench -p "$package" --all-features --bench operations --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -1)
[ -n "$binary" ] || { echo "could not build the $package benchmark" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Collect only inside the timed loop, and dump its count after each batch (support::count_file).
GRANTRY_BENCH_COUNT="$out/cg" valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
    --toggle-collect=operations::support::timed_batch \
    --dump-after=operations::support::timed_batch \
    "$binary" --bench 2> "$out/valgrind.log" || { cat "$out/valgrind.log" >&2; exit 1; }
