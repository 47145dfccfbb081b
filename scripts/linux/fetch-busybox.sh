#!/bin/sh
# Builds a second initramfs for the Linux guest, with Debian's static busybox and a shell as /init
# (guests/linux/busybox-init.sh), for hosts whose KVM runs 64-bit user programs. On kvm_pvm, the
# development machine's KVM, 64-bit system calls never reach the guest kernel (docs/PLATFORM.md §3):
# there the tests use fetch-guest.sh's 32-bit /init, and this initramfs is checked under QEMU's TCG
# (scripts/linux/check-with-qemu.sh busybox-shell).
#   .cache/linux/busybox/<version>/busybox               from busybox-static (`apt-get download`); the
#                                                        nested-KVM box (scripts/box/) packs it too
#   .cache/linux/busybox/<version>/initramfs-busybox.cpio  /init, /bin/busybox, /dev/console, dirs
# Standard output: INITRAMFS_BUSYBOX=PATH, BUSYBOX=PATH and BUSYBOX_VERSION=V, also written to
# .cache/linux/busybox/current.env (the Linux tests read it); progress on standard error.
#
# Usage: scripts/linux/fetch-busybox.sh        (NODEVMM_CACHE_DIR as for fetch-guest.sh)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${NODEVMM_CACHE_DIR:-$repo/.cache}/linux/busybox
init_src=$repo/guests/linux/busybox-init.sh
pkg=busybox-static

tag=fetch-busybox
. "$repo/scripts/lib/debian.sh"

ver=$(candidate "$pkg")
if [ -z "$ver" ] && is_root; then
  apt_update
  ver=$(candidate "$pkg")
fi
[ -n "$ver" ] || die "apt cannot resolve $pkg (no package lists? run apt-get update)"
dir=$cache/$(cache_key "$ver")
recipe=$(cat "$init_src" "$here/gen-cpio.sh" "$0" | cksum | tr ' ' '-')

if [ -f "$dir/initramfs-busybox.cpio" ] && [ "$(cat "$dir/initramfs.stamp" 2>/dev/null)" = "$recipe" ]; then
  log "cached: $dir/initramfs-busybox.cpio"
else
  tmp=$dir.tmp.$$
  rm -rf "$tmp"
  mkdir -p "$tmp/deb"
  trap 'rm -rf "$tmp"' EXIT
  if [ ! -f "$dir/busybox" ]; then
    need dpkg-deb dpkg
    deb=$(download "$pkg" "$ver" "$tmp/deb")
    dpkg-deb -x "$deb" "$tmp/x"
    [ -f "$tmp/x/bin/busybox" ] || die "$pkg has no /bin/busybox"
    mkdir -p "$dir"
    mv -f "$tmp/x/bin/busybox" "$dir/busybox"
  fi
  need readelf binutils
  readelf -h "$dir/busybox" | grep -q 'Class: *ELF64' || die "busybox is not a 64-bit program"
  ! readelf -l "$dir/busybox" | grep -q INTERP || die "busybox is not static"
  sh "$here/gen-cpio.sh" "$tmp/initramfs-busybox.cpio" <<LIST
dir /bin 0755 0 0
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
dir /proc 0755 0 0
dir /sys 0755 0 0
dir /tmp 1777 0 0
file /bin/busybox $dir/busybox 0755 0 0
file /init $init_src 0755 0 0
LIST
  mv -f "$tmp/initramfs-busybox.cpio" "$dir/initramfs-busybox.cpio"
  printf '%s\n' "$recipe" > "$dir/initramfs.stamp"
  rm -rf "$tmp"
  trap - EXIT
  log "built: $dir/initramfs-busybox.cpio ($(wc -c < "$dir/initramfs-busybox.cpio") bytes)"
fi
env_tmp=$cache/current.env.tmp.$$
printf 'INITRAMFS_BUSYBOX=%s\nBUSYBOX=%s\nBUSYBOX_VERSION=%s\n' "$dir/initramfs-busybox.cpio" "$dir/busybox" "$ver" > "$env_tmp"
mv -f "$env_tmp" "$cache/current.env"
cat "$cache/current.env"
