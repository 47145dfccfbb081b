# Sourced (not run) by the scripts that take artifacts from Debian's archive: messages, installing a
# missing tool as root, and downloading a package without installing it. The sourcing script sets
# `tag` (its name in messages) before sourcing this file.

log() { printf '%s: %s\n' "$tag" "$*" >&2; }
die() { printf '%s: ERROR: %s\n' "$tag" "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
is_root() { [ "$(id -u)" -eq 0 ]; }

apt_updated=0
apt_update() {
  [ "$apt_updated" -eq 0 ] || return 0
  is_root || die "apt-get update is needed but this is not root"
  log "apt-get update"
  apt-get update -q >&2 || die "apt-get update failed"
  apt_updated=1
}

# need COMMAND PACKAGE: install the Debian package PACKAGE when COMMAND is missing (root only)
need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  is_root || die "'$1' is missing: install the Debian package $2"
  log "installing $2 (for $1)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" >&2 ||
    { apt_update; DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" >&2; } ||
    die "could not install $2"
  command -v "$1" >/dev/null 2>&1 || die "'$1' still missing after installing $2"
}

# candidate PACKAGE: prints apt's candidate version (empty when apt does not know the package)
candidate() {
  apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1
}

# meta_dependency META: the linux-image-<release> package a kernel meta package depends on
meta_dependency() {
  apt-cache show --no-all-versions "$1" 2>/dev/null |
    sed -n 's/^Depends:.*\(linux-image-[0-9][^ ,]*\).*/\1/p' | head -n 1
}

# download PACKAGE VERSION DIR: `apt-get download` into DIR (no install), with one `apt-get update`
# and retry when the first try fails; prints the .deb's path
download() {
  # As root, apt would otherwise warn that its _apt user cannot write into DIR.
  sandbox=''
  is_root && sandbox='-o APT::Sandbox::User=root'
  log "apt-get download $1=$2"
  # shellcheck disable=SC2086
  if ! (cd "$3" && apt-get -q $sandbox download "$1=$2" >&2); then
    is_root || die "apt-get download $1=$2 failed"
    apt_update
    # shellcheck disable=SC2086
    (cd "$3" && apt-get -q $sandbox download "$1=$2" >&2) ||
      die "apt-get download $1=$2 failed (after apt-get update: is $2 still in the archive?)"
  fi
  set -- "$3"/"$1"_*.deb
  [ -f "$1" ] || die "apt-get download left no .deb in ${1%/*}"
  printf '%s\n' "$1"
}

# cache_key VERSION: a version string as a directory name
cache_key() { printf '%s' "$1" | tr ':/' '__'; }
