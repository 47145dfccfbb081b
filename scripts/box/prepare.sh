#!/bin/sh
# Prepares the nested-KVM box (scripts/box/README.md) in .cache/box/<kernel package version>/:
#   vmlinux-<release>   Debian's generic kernel (the dependency of linux-image-amd64; the cloud kernel
#                       has no 9p), from `apt-get download`, never installed, unpacked from its bzImage:
#                       QEMU boots the ELF through its PVH note, 2.5 s sooner than the bzImage
#   initramfs.cpio      an uncompressed newc cpio: scripts/box/init.sh as /init, Debian's static busybox,
#                       the kernel's modules for KVM on AMD SVM and for 9p over virtio-pci, in load order
#   box.env             what the runner needs; written last: the stamp
# A second run finds the stamp and only prints box.env; while .cache/box/current.env names a complete
# box it does not even ask apt (NODEVMM_BOX_REFRESH=1 asks again, for a newer kernel). As root it installs QEMU (qemu-system-x86)
# and kmod (depmod) when they are missing.
#
# Standard output: box.env's KEY=VALUE lines (BOX_KERNEL, BOX_INITRAMFS, BOX_QEMU, ...). Progress and
# errors go to standard error.
# Environment: NODEVMM_CACHE_DIR (cache root instead of <repo>/.cache), NODEVMM_BOX_KERNEL_META (the
# meta package, default linux-image-amd64).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${NODEVMM_CACHE_DIR:-$repo/.cache}/box
meta=${NODEVMM_BOX_KERNEL_META:-linux-image-amd64}
# What the box loads, dependencies first (worked out from the kernel's modules.dep below); veth joins
# the network namespaces of the migration test's two "hosts".
modules='kvm-amd 9pnet_virtio 9p virtio_pci veth tun'

tag=box-prepare
. "$repo/scripts/lib/debian.sh"
. "$repo/scripts/lib/bzimage.sh"
. "$repo/scripts/lib/modules.sh"

need qemu-system-x86_64 qemu-system-x86
qemu=$(command -v qemu-system-x86_64)
current=$cache/current.env
recipe_of() { cat "$here/init.sh" "$here/kvm-keeper.c" "$0" "$repo/scripts/linux/gen-cpio.sh" "$repo/scripts/lib/bzimage.sh" "$repo/scripts/lib/modules.sh" "$1" | cksum | tr ' ' '-'; }

# The fast path (each box run starts here): the last box, when its files and recipe still stand.
if [ "${NODEVMM_BOX_REFRESH:-0}" != 1 ] && [ -f "$current" ]; then
  env_file=$(sed -n 's/^BOX_ENV=//p' "$current")
  bb=$(sed -n 's/^BOX_BUSYBOX=//p' "$env_file" 2>/dev/null)
  if [ -n "$bb" ] && [ -x "$bb" ] && [ "$(sed -n 's/^BOX_RECIPE=//p' "$env_file")" = "$(recipe_of "$bb")" ] &&
     [ -f "$(sed -n 's/^BOX_KERNEL=//p' "$env_file")" ] && [ -f "$(sed -n 's/^BOX_INITRAMFS=//p' "$env_file")" ]; then
    sed "s|^BOX_QEMU=.*|BOX_QEMU=$qemu|" "$env_file"
    exit 0
  fi
fi

need depmod kmod
need dpkg-deb dpkg
need cc gcc

pkg=$(meta_dependency "$meta")
if [ -z "$pkg" ] && is_root; then
  apt_update
  pkg=$(meta_dependency "$meta")
fi
[ -n "$pkg" ] || die "apt cannot resolve $meta's kernel package (no package lists? run apt-get update as root)"
ver=$(candidate "$pkg")
[ -n "$ver" ] || die "apt knows no version of $pkg"
dir=$cache/$(cache_key "$ver")

busybox=$(sh "$repo/scripts/linux/fetch-busybox.sh" | sed -n 's/^BUSYBOX=//p')
[ -x "$busybox" ] || die "fetch-busybox.sh gave no busybox binary"
recipe=$(recipe_of "$busybox")

if [ -f "$dir/box.env" ] && [ "$(sed -n 's/^BOX_RECIPE=//p' "$dir/box.env")" = "$recipe" ]; then
  printf 'BOX_ENV=%s\n' "$dir/box.env" > "$current"
  sed "s|^BOX_QEMU=.*|BOX_QEMU=$qemu|" "$dir/box.env"
  exit 0
fi

t_start=$(now)
tmp=$dir.tmp.$$
rm -rf "$tmp"
mkdir -p "$tmp/deb" "$tmp/modules"
trap 'rm -rf "$tmp"' EXIT
deb=$(download "$pkg" "$ver" "$tmp/deb")
dpkg-deb -x "$deb" "$tmp/x"
set -- "$tmp"/x/boot/vmlinuz-*
[ -f "$1" ] || die "$deb has no boot/vmlinuz-*"
rel=${1##*/vmlinuz-}
extract_vmlinux "$1" "$tmp/vmlinux-$rel"
depmod -b "$tmp/x" "$rel"
moddir=$tmp/x/lib/modules/$rel
# Static: it runs from the initramfs, before the host's / is mounted.
cc -static -Os -s -o "$tmp/kvm-keeper" "$here/kvm-keeper.c" || die "compiling kvm-keeper.c (static: libc6-dev's libc.a)"

# The modules' files in load order: each after the modules it depends on, each once.
listed=$(modules_in_load_order "$moddir/modules.dep" "$modules") || die "$pkg lacks a module of: $modules"
: > "$tmp/modules.list"
list="dir /bin 0755 0 0
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
dir /proc 0755 0 0
dir /sys 0755 0 0
dir /modules 0755 0 0
file /bin/busybox $busybox 0755 0 0
file /bin/kvm-keeper $tmp/kvm-keeper 0755 0 0
file /init $here/init.sh 0755 0 0
file /modules.list $tmp/modules.list 0644 0 0
$(module_cpio_lines "$moddir" "$tmp/modules.list" $listed)"
printf '%s\n' "$list" | sh "$repo/scripts/linux/gen-cpio.sh" "$tmp/initramfs.cpio"

cat > "$tmp/box.env" <<EOF
BOX_KERNEL_PACKAGE=$pkg
BOX_KERNEL_VERSION=$ver
BOX_KERNEL_RELEASE=$rel
BOX_KERNEL=$dir/vmlinux-$rel
BOX_INITRAMFS=$dir/initramfs.cpio
BOX_MODULES='$(tr '\n' ' ' < "$tmp/modules.list" | sed 's/ $//')'
BOX_RECIPE=$recipe
BOX_BUSYBOX=$busybox
BOX_QEMU=$qemu
EOF
mkdir -p "$dir"
mv -f "$tmp/vmlinux-$rel" "$tmp/initramfs.cpio" "$dir/"
mv -f "$tmp/box.env" "$dir/box.env"
printf 'BOX_ENV=%s\n' "$dir/box.env" > "$current"
log "prepared $dir in $(since "$t_start")s: kernel $rel ($pkg $ver), modules: $(tr '\n' ' ' < "$tmp/modules.list")"
cat "$dir/box.env"
