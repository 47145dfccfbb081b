#!/bin/sh
# Where the time of one exit goes: samples the floor and the nodevmm CLI on the PIO guest with perf
# (cpu-clock, so it works without hardware counters), takes each process's busiest thread (the vCPU
# thread) and prints its samples by category as ns per exit. Not part of `npm run bench`: perf is an
# optional tool. Run after benchmarks/setup.sh.
#   sh benchmarks/profile/perf-exits.sh [N]      (default N = 1000000)
set -eu
cd "$(dirname "$0")/../.."
n=${1:-1000000}
hz=2000
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

perf record -q -e cpu-clock -F $hz -g -o "$out/floor.data" benchmarks/build/kvm-floor benchmarks/build/pio.elf "$n" >/dev/null
perf record -q -e cpu-clock -F $hz -g -o "$out/nodevmm.data" \
  node --perf-basic-prof .cache/bench/dist/benchmarks/lib/nodevmm-cli.js \
  --kernel benchmarks/build/pio.elf --cmdline "$n" --memory size=64M >/dev/null

for system in floor nodevmm; do
  echo "== $system: the busiest thread, ns per exit by where the sample landed (N = $n)"
  perf script -i "$out/$system.data" -F tid,ip,sym,dso -G 2>/dev/null | awk -v n="$n" -v hz="$hz" -f benchmarks/profile/categorize.awk
done
rm -f /tmp/perf-*.map
