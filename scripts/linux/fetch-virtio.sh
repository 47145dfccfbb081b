#!/bin/sh
# Builds the initramfs of the virtio tests: the busybox one (fetch-busybox.sh) plus the guest kernel's
# virtio modules (virtio-mmio, blk, rng, console, net, vsock), which its /init loads in order, and
# /bin/blkbench (guests/linux/blkbench.c, the disk benchmark's program) and /bin/vsockio
# (guests/linux/vsockio.c, the vsock test's). Debian's
# kernels build virtio_mmio as a module; nodevmm describes its devices in ACPI (LNRO0005).
#   .cache/linux/<kernel version>/initramfs-virtio.cpio
# Runs after fetch-guest.sh (the kernel's .deb) and fetch-busybox.sh; a second run only prints the path.
# Standard output: INITRAMFS_VIRTIO=PATH, also written to .cache/linux/virtio.env.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${NODEVMM_CACHE_DIR:-$repo/.cache}/linux
modules='virtio_mmio virtio_blk virtio-rng virtio_console virtio_net vmw_vsock_virtio_transport'

tag=fetch-virtio
. "$repo/scripts/lib/debian.sh"
. "$repo/scripts/lib/modules.sh"

[ -f "$cache/current.env" ] || die "no guest kernel: run scripts/linux/fetch-guest.sh first"
KERNEL_DEB=$(sed -n 's/^KERNEL_DEB=//p' "$cache/current.env")
KERNEL_DIR=$(sed -n 's/^KERNEL_DIR=//p' "$cache/current.env")
KERNEL_RELEASE=$(sed -n 's/^KERNEL_RELEASE=//p' "$cache/current.env")
[ -f "$KERNEL_DEB" ] || die "the kernel package $KERNEL_DEB is gone: run scripts/linux/fetch-guest.sh --force"
busybox=$(sh "$here/fetch-busybox.sh" | sed -n 's/^BUSYBOX=//p')
[ -x "$busybox" ] || die "fetch-busybox.sh gave no busybox binary"
init_src=$repo/guests/linux/busybox-init.sh
out=$KERNEL_DIR/initramfs-virtio.cpio
bench_src=$repo/guests/linux/blkbench.c
vsock_src=$repo/guests/linux/vsockio.c
recipe=$(cat "$0" "$init_src" "$bench_src" "$vsock_src" "$here/gen-cpio.sh" "$repo/scripts/lib/modules.sh" "$busybox" | cksum | tr ' ' '-')-$(basename "$KERNEL_DEB")

if [ ! -f "$out" ] || [ "$(cat "$out.stamp" 2>/dev/null)" != "$recipe" ]; then
  need dpkg-deb dpkg
  need depmod kmod
  tmp=$KERNEL_DIR/virtio.tmp.$$
  rm -rf "$tmp"
  mkdir -p "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  dpkg-deb -x "$KERNEL_DEB" "$tmp/x"
  depmod -b "$tmp/x" "$KERNEL_RELEASE"
  moddir=$tmp/x/lib/modules/$KERNEL_RELEASE
  listed=$(modules_in_load_order "$moddir/modules.dep" "$modules") || die "the kernel lacks a module of: $modules"
  need gcc gcc
  # the disk benchmark's program (benchmarks/virtio-blk.ts), static: the initramfs has no libc
  gcc -static -O2 -Wall -o "$tmp/blkbench" "$bench_src" || die "cannot build $bench_src (static glibc: libc6-dev)"
  gcc -static -O2 -Wall -o "$tmp/vsockio" "$vsock_src" || die "cannot build $vsock_src (static glibc: libc6-dev)"
  : > "$tmp/modules.list"
  lines=$(module_cpio_lines "$moddir" "$tmp/modules.list" $listed)
  sh "$here/gen-cpio.sh" "$tmp/initramfs-virtio.cpio" <<LIST
dir /bin 0755 0 0
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
dir /proc 0755 0 0
dir /sys 0755 0 0
dir /tmp 1777 0 0
dir /mnt 0755 0 0
dir /modules 0755 0 0
file /bin/busybox $busybox 0755 0 0
file /init $init_src 0755 0 0
file /bin/blkbench $tmp/blkbench 0755 0 0
file /bin/vsockio $tmp/vsockio 0755 0 0
file /modules.list $tmp/modules.list 0644 0 0
$lines
LIST
  mv -f "$tmp/initramfs-virtio.cpio" "$out"
  printf '%s\n' "$recipe" > "$out.stamp"
  log "built: $out ($(wc -c < "$out") bytes), modules: $(tr '\n' ' ' < "$tmp/modules.list")"
fi
printf 'INITRAMFS_VIRTIO=%s\n' "$out" > "$cache/virtio.env.tmp.$$"
mv -f "$cache/virtio.env.tmp.$$" "$cache/virtio.env"
cat "$cache/virtio.env"
