#!/bin/sh
# Builds libvirt's Cloud Hypervisor driver daemon (virtchd) and virsh from Debian's source package,
# once, for the libvirt tests (test/libvirt/). Only the ch driver, the daemon, the remote driver and
# what they need are built (json-c and curl talk to the VMM, libnl is needed to compile).
#   .cache/libvirt/<version>/            the installed prefix: sbin/virtchd, bin/virsh, lib/, etc/, var/
#   .cache/libvirt/<version>.build/      the meson build tree (kept: a second run only installs)
# Sockets and FIFOs live under /run/nodevmm-libvirt (runstatedir), a tmpfs both natively and in the
# nested-KVM box, whose 9p share refuses special files.
# Standard output: LIBVIRT_PREFIX=PATH, LIBVIRT_VERSION=V and LIBVIRT_RUNDIR=PATH, also written to
# .cache/libvirt/current.env; progress on standard error. Root installs the build dependencies.
#
# Usage: scripts/libvirt/build.sh         (NODEVMM_CACHE_DIR moves .cache)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${NODEVMM_CACHE_DIR:-$repo/.cache}/libvirt
version=11.3.0
prefix=$cache/$version
build=$prefix.build
rundir=/run/nodevmm-libvirt
tag=libvirt-build
. "$repo/scripts/lib/debian.sh"

emit() {
  env="LIBVIRT_PREFIX=$prefix
LIBVIRT_VERSION=$version
LIBVIRT_RUNDIR=$rundir"
  printf '%s\n' "$env" > "$cache/current.env"
  printf '%s\n' "$env"
}

recipe="$(cksum < "$0" | tr ' ' '-'):$prefix"
if [ -x "$prefix/sbin/virtchd" ] && [ -x "$prefix/bin/virsh" ] && [ "$(cat "$prefix/.stamp" 2>/dev/null)" = "$recipe" ]; then
  log "cached: $prefix"
  emit
  exit 0
fi
started=$(now)
mkdir -p "$cache"

# Build dependencies, all from bookworm.
deps="meson ninja-build pkg-config gcc xz-utils python3 libglib2.0-dev libxml2-dev libxml2-utils xsltproc
libgnutls28-dev libjson-c-dev libcurl4-gnutls-dev libnl-3-dev libnl-route-3-dev libreadline-dev libtirpc-dev"
missing=""
for pkg in $deps; do
  dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  is_root || die "missing build dependencies:$missing (install them, or run this as root)"
  log "installing$missing"
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2 ||
    { apt_update; DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2; } ||
    die "could not install$missing"
fi

# The source: libvirt $version is in bookworm-backports as a source package. Its upstream tarball is
# taken and checked against the archive's SHA256 (Debian's own patches are not needed here).
tarball=$cache/libvirt_$version.orig.tar.xz
if [ ! -f "$tarball" ]; then
  src_list=/etc/apt/sources.list.d/nodevmm-bookworm-backports-src.sources
  if [ ! -f "$src_list" ]; then
    is_root || die "libvirt's source needs a deb-src entry for bookworm-backports (run this as root)"
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > "$src_list"
    apt_updated=0
  fi
  apt-get source --print-uris libvirt 2>/dev/null | grep -q "orig.tar.xz" || apt_update
  line=$(apt-get source --print-uris libvirt 2>/dev/null | grep "libvirt_$version.orig.tar.xz" | head -n 1)
  [ -n "$line" ] || die "apt has no libvirt_$version.orig.tar.xz among bookworm-backports' sources"
  url=$(printf '%s' "$line" | sed "s/^'\([^']*\)'.*/\1/")
  sha=$(printf '%s' "$line" | sed -n 's/.*SHA256:\([0-9a-f]*\).*/\1/p')
  log "downloading $url"
  tmpdir=$(mktemp -d)
  (cd "$tmpdir" && apt-get -q -o APT::Sandbox::User=root source --download-only libvirt >&2) || true
  [ -f "$tmpdir/${tarball##*/}" ] || die "the download of $url failed"
  if [ -n "$sha" ]; then
    got=$(sha256sum "$tmpdir/${tarball##*/}" | cut -d' ' -f1)
    [ "$got" = "$sha" ] || die "${tarball##*/}: SHA256 $got, the archive says $sha"
  fi
  mv "$tmpdir/${tarball##*/}" "$tarball"
  rm -rf "$tmpdir"
fi

src=$build/libvirt-$version
out=$build/out
if [ ! -f "$out/build.ninja" ]; then
  rm -rf "$build"
  mkdir -p "$build"
  tar -xJf "$tarball" -C "$build"
  log "meson setup (ch driver, daemon, remote driver only)"
  # Everything not named is off; -Dlibnl=disabled does not compile (RTM_SETLINK), so libnl stays.
  meson setup "$out" "$src" --prefix="$prefix" --libdir=lib --sysconfdir="$prefix/etc" \
    --localstatedir="$prefix/var" -Drunstatedir="$rundir" --auto-features=disabled \
    -Ddriver_ch=enabled -Ddriver_libvirtd=enabled -Ddriver_remote=enabled -Djson_c=enabled \
    -Dcurl=enabled -Dreadline=enabled -Dlibnl=enabled -Ddocs=disabled -Dtests=disabled \
    -Dinit_script=none -Dno_git=true >&2 || die "meson setup failed"
fi
log "building (ninja, 2 jobs)"
ninja -C "$out" -j2 >&2 || die "the build failed"
ninja -C "$out" install >&2 || die "the install failed"
printf '%s\n' "$recipe" > "$prefix/.stamp"
log "built in $(since "$started") s: $prefix"
emit
