#!/bin/sh
# Fetches and builds nodevmm's Linux guest artifacts into .cache/linux/<kernel package version>/:
#   vmlinuz-<release>     Debian's cloud kernel, a bzImage (from `apt-get download`, never installed)
#   vmlinux-<release>     the uncompressed ELF kernel inside the bzImage's payload, with its PVH note
#   config-<release>      the kernel's build configuration
#   <package>.deb         the downloaded package (its modules can be unpacked later without network)
#   init                  guests/linux/init.S built as a static 32-bit i386 program (system calls
#                         through the vDSO's __kernel_vsyscall, else int $0x80)
#   initramfs.cpio        an uncompressed newc cpio: /init, /dev/console (c 5,1), /dev, /proc, /sys
#   kernel.env            what was found out about the kernel; written last: the kernel's stamp
#   initramfs.stamp       the hash of what the initramfs was built from
# A second run finds the stamps and only prints the paths. The initramfs is rebuilt by itself when
# init.S, gen-cpio.sh or this script change.
#
# Standard output: KEY=VALUE lines (KERNEL_BZIMAGE, KERNEL_VMLINUX, INITRAMFS, KERNEL_VERSION, ...),
# also written to .cache/linux/current.env. Progress goes to standard error.
#
# Usage: scripts/linux/fetch-guest.sh [--force]
#   --force                    rebuild everything, even when the stamps say it is done
# Environment:
#   NODEVMM_CACHE_DIR          cache root instead of <repo>/.cache (artifacts go to $it/linux/...)
#   NODEVMM_KERNEL_META        the meta package to resolve (default linux-image-cloud-amd64)
#   NODEVMM_KERNEL_PACKAGE     take this kernel package instead of the meta package's dependency
#   NODEVMM_KERNEL_VERSION     and this version of it instead of apt's candidate
# Needs: apt-get/apt-cache/dpkg-deb, od, readelf/objdump/ld (binutils), gcc (for -m32 -c on a .S),
# and the decompressor for the payload; missing ones are installed with apt-get when running as root.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache_root=${NODEVMM_CACHE_DIR:-$repo/.cache}
cache=$cache_root/linux
meta=${NODEVMM_KERNEL_META:-linux-image-cloud-amd64}
init_src=$repo/guests/linux/init.S
force=0

for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    -h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "fetch-guest: unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

tag=fetch-guest
. "$repo/scripts/lib/debian.sh"
. "$repo/scripts/lib/bzimage.sh"

# ---- which kernel -------------------------------------------------------------------------------
pkg='' ver=''
resolve() {
  pkg=${NODEVMM_KERNEL_PACKAGE:-}
  if [ -z "$pkg" ]; then
    # "Depends: linux-image-6.1.0-NN-cloud-amd64 (= 6.1.x-y)" of the meta package's candidate
    pkg=$(meta_dependency "$meta")
  fi
  [ -n "$pkg" ] || return 1
  ver=${NODEVMM_KERNEL_VERSION:-}
  if [ -z "$ver" ]; then
    ver=$(candidate "$pkg")
  fi
  [ -n "$ver" ]
}

mkdir -p "$cache"
# One run at a time per cache (parallel test workers may all call this script).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$cache/.lock"
  flock 9
fi

t_start=$(now)
offline=0
if ! resolve; then
  log "apt cannot resolve $meta (no package lists?)"
  if is_root && (apt_update) && resolve; then
    apt_updated=1
  elif [ -f "$cache/current.env" ]; then
    # No archive reachable: fall back to what the cache already holds.
    pkg=$(sed -n 's/^KERNEL_PACKAGE=//p' "$cache/current.env")
    ver=$(sed -n 's/^KERNEL_VERSION=//p' "$cache/current.env")
    [ -n "$pkg" ] && [ -n "$ver" ] || die "cannot resolve $meta and $cache/current.env is incomplete"
    offline=1
    log "using the cached $pkg $ver from $cache/current.env"
  else
    die "cannot resolve $meta with apt-cache, and nothing is cached"
  fi
fi

key=$(cache_key "$ver")
dir=$cache/$key
log "kernel package $pkg $ver -> $dir"

# ---- the kernel ---------------------------------------------------------------------------------
build_kernel() {
  tmp=$dir.tmp.$$
  rm -rf "$tmp"
  mkdir -p "$tmp/deb"
  trap 'rm -rf "$tmp"' EXIT

  t=$(now)
  deb=$(download "$pkg" "$ver" "$tmp/deb")
  t_download=$(since "$t")

  t=$(now)
  dpkg-deb -x "$deb" "$tmp/x"
  set -- "$tmp"/x/boot/vmlinuz-*
  [ -f "$1" ] || die "$deb has no boot/vmlinuz-*"
  rel=${1##*/vmlinuz-}
  mv "$1" "$tmp/vmlinuz-$rel"
  mv "$tmp/x/boot/config-$rel" "$tmp/config-$rel"
  mv "$deb" "$tmp/"
  deb=$dir/${deb##*/}
  rm -rf "$tmp/x" "$tmp/deb"
  t_extract=$(since "$t")

  t=$(now)
  vmlinux=$tmp/vmlinux-$rel
  extract_vmlinux "$tmp/vmlinuz-$rel" "$vmlinux"
  got=$(wc -c < "$vmlinux")
  got=$((got + 0))
  t_vmlinux=$(since "$t")

  # The vmlinux must be an x86-64 ELF with a PVH entry: the Xen note XEN_ELFNOTE_PHYS32_ENTRY (18).
  need readelf binutils
  readelf -h "$vmlinux" | grep -q 'Class: *ELF64' || die "$vmlinux is not an ELF64 file"
  readelf -h "$vmlinux" | grep -q 'Machine: *Advanced Micro Devices X86-64' ||
    die "$vmlinux is not an x86-64 ELF"
  pvh_bytes=$(readelf -n "$vmlinux" | awk '
    /^ *Xen / && ($0 ~ /\(0x00000012\)/ || $0 ~ /PHYS32_ENTRY/) { want = 1; next }
    want && /description data:/ { sub(/.*description data: */, ""); print; exit }')
  [ -n "$pvh_bytes" ] ||
    die "$vmlinux has no PVH note (Xen ELF note type 0x12, XEN_ELFNOTE_PHYS32_ENTRY): CONFIG_PVH off?"
  pvh_hex=''
  for b in $pvh_bytes; do pvh_hex=$b$pvh_hex; done   # little endian
  pvh_entry=$(printf '0x%x' $((0x$pvh_hex)))
  log "vmlinux: ELF64 x86-64, $got bytes, PVH note present (XEN_ELFNOTE_PHYS32_ENTRY, type 0x12): entry $pvh_entry"
  grep -q '^CONFIG_IA32_EMULATION=y' "$tmp/config-$rel" ||
    die "config-$rel: CONFIG_IA32_EMULATION is not =y: the 32-bit /init cannot run"

  cat > "$tmp/kernel.env" <<EOF
KERNEL_PACKAGE=$pkg
KERNEL_VERSION=$ver
KERNEL_RELEASE=$rel
KERNEL_DIR=$dir
KERNEL_BZIMAGE=$dir/vmlinuz-$rel
KERNEL_VMLINUX=$dir/vmlinux-$rel
KERNEL_CONFIG=$dir/config-$rel
KERNEL_DEB=$deb
KERNEL_BOOT_PROTOCOL=$protocol
KERNEL_PAYLOAD_COMPRESSION=$comp
KERNEL_PVH_ENTRY=$pvh_entry
EOF
  # Put everything in place; the stamp (kernel.env) last.
  mkdir -p "$dir"
  for f in "$tmp"/*; do
    [ "${f##*/}" = kernel.env ] || mv -f "$f" "$dir/"
  done
  mv -f "$tmp/kernel.env" "$dir/kernel.env"
  rm -rf "$tmp"
  trap - EXIT
  log "kernel: download ${t_download}s, dpkg-deb -x ${t_extract}s, vmlinux ($comp) ${t_vmlinux}s"
}

kernel_ok() {
  [ -f "$dir/kernel.env" ] || return 1
  for k in KERNEL_BZIMAGE KERNEL_VMLINUX KERNEL_CONFIG; do
    f=$(sed -n "s/^$k=//p" "$dir/kernel.env")
    [ -n "$f" ] && [ -f "$f" ] || return 1
  done
}

if [ "$force" -eq 0 ] && kernel_ok; then
  log "kernel: cached ($dir/kernel.env)"
else
  [ "$offline" -eq 0 ] || die "the cached kernel in $dir is incomplete and apt cannot reach the archive"
  build_kernel
fi

# ---- the initramfs ------------------------------------------------------------------------------
cpio_list() {
  cat <<EOF
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
dir /proc 0755 0 0
dir /sys 0755 0 0
file /init $1 0755 0 0
EOF
}
recipe=$(cat "$init_src" "$here/gen-cpio.sh" "$0" | cksum | tr ' ' '-')

build_initramfs() {
  need gcc gcc
  need ld binutils
  tmp=$dir/initramfs.tmp.$$
  rm -rf "$tmp"
  mkdir -p "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  # gcc only preprocesses and assembles (as --32): no 32-bit libc or multilib is involved.
  gcc -m32 -c -nostdlib -o "$tmp/init.o" "$init_src"
  ld -m elf_i386 -static -nostdlib -s --build-id=none -e _start -o "$tmp/init" "$tmp/init.o"
  readelf -h "$tmp/init" | grep -q 'Class: *ELF32' || die "init is not ELF32"
  readelf -h "$tmp/init" | grep -q 'Machine: *Intel 80386' || die "init is not i386"
  ! readelf -l "$tmp/init" | grep -q INTERP || die "init is not static"
  # The kernel returns from sysenter to the vDSO's landing pad, so a sysenter outside the vDSO is
  # wrong everywhere, and 64-bit syscall never reaches the kernel on kvm_pvm (docs/PLATFORM.md).
  ! objdump -d "$tmp/init" | grep -Eq '[[:space:]](syscall|sysenter)([[:space:]]|$)' ||
    die "init uses syscall/sysenter itself: it must call the vDSO (AT_SYSINFO) or use int \$0x80"
  cpio_list "$tmp/init" | sh "$here/gen-cpio.sh" "$tmp/initramfs.cpio"
  [ "$(hexbytes "$tmp/initramfs.cpio" 0 6)" = 303730373031 ] || die "initramfs.cpio: bad newc magic"
  mv -f "$tmp/init" "$dir/init"
  mv -f "$tmp/initramfs.cpio" "$dir/initramfs.cpio"
  printf '%s\n' "$recipe" > "$dir/initramfs.stamp"
  rm -rf "$tmp"
  trap - EXIT
  log "initramfs: $dir/initramfs.cpio ($(wc -c < "$dir/initramfs.cpio") bytes, uncompressed newc; /init $(wc -c < "$dir/init") bytes, static i386)"
}

if [ "$force" -eq 0 ] && [ -f "$dir/initramfs.cpio" ] && [ -f "$dir/init" ] &&
   [ "$(cat "$dir/initramfs.stamp" 2>/dev/null)" = "$recipe" ]; then
  log "initramfs: cached ($dir/initramfs.cpio)"
else
  build_initramfs
fi

# ---- report -------------------------------------------------------------------------------------
env_tmp=$cache/current.env.tmp.$$
{
  cat "$dir/kernel.env"
  echo "INIT_ELF=$dir/init"
  echo "INITRAMFS=$dir/initramfs.cpio"
} > "$env_tmp"
mv -f "$env_tmp" "$cache/current.env"
log "done in $(since "$t_start")s; the paths are also in $cache/current.env"
cat "$cache/current.env"
