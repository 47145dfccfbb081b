#!/bin/sh
# The benchmarks' own setup: QEMU from Debian's archive (when missing), the floor program and the
# benchmark guests (benchmarks/build.sh), the call-cost experiment addons, and a snapshot of the
# compiled tree and the native addon in .cache/bench/, which the benchmarks run from: a rebuild of
# dist/ or build/ in the same checkout while they run cannot change what they measure.
# Run after `npm run build`. Installing needs root, as apt-get does.
set -eu
cd "$(dirname "$0")/.."
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
  echo "bench setup: installing qemu-system-x86 from Debian's archive" >&2
  apt-get install -y --no-install-recommends qemu-system-x86
fi
# strace counts KVM_RUN returns to check that each guest exit reaches the VMM
command -v strace >/dev/null 2>&1 || apt-get install -y --no-install-recommends strace
sh benchmarks/build.sh
# Debian's cloud kernel and the test initramfs, for the Linux boot benchmark (cached in .cache/linux)
sh scripts/linux/fetch-guest.sh > /dev/null
sh scripts/linux/fetch-virtio.sh > /dev/null   # the virtio-blk suite's initramfs, with blkbench
# the call-cost experiment addons (optional: the benchmarks skip them when they are not built)
npx node-gyp rebuild --nodedir=/usr --silent --directory benchmarks/experiments/call-cost >/dev/null ||
  echo "bench setup: call-cost experiment not built; its rows will be missing" >&2

# the snapshot: compiled TS and the addon (found by src/kvm/native.ts from .cache/bench/dist/src/kvm)
rm -rf .cache/bench
mkdir -p .cache/bench/build/Release
cp -r dist .cache/bench/dist
cp build/Release/nodevmm_kvm.node .cache/bench/build/Release/
# src/version.ts reads the version from the package root, two levels above dist/src
cp package.json .cache/bench/package.json
