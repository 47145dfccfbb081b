#!/bin/sh
# Writes an uncompressed "newc" cpio archive (the initramfs format Linux unpacks) from a list in the
# format of the kernel's usr/gen_init_cpio, read on standard input:
#   dir  <name> <mode> <uid> <gid>
#   nod  <name> <mode> <uid> <gid> <c|b> <major> <minor>
#   file <name> <source file> <mode> <uid> <gid>
# Lines starting with # and empty lines are skipped. Needs no root (device nodes are only described),
# and the archive is reproducible: every mtime is 0 and inode numbers count up from 1.
#
# Usage: scripts/linux/gen-cpio.sh OUTPUT < list
set -eu

[ $# -eq 1 ] || { echo "usage: $0 OUTPUT < list" >&2; exit 2; }
out=$1
ino=0

fail() { echo "gen-cpio: $*" >&2; exit 1; }

# zeros N: N NUL bytes (N is 0..3 here)
zeros() {
  n=$1
  while [ "$n" -gt 0 ]; do printf '\000'; n=$((n - 1)); done
}

# entry NAME MODE UID GID NLINK SIZE RDEVMAJOR RDEVMINOR [SOURCE]
entry() {
  name=$1 mode=$2 uid=$3 gid=$4 nlink=$5 size=$6 rmaj=$7 rmin=$8 src=${9:-}
  ino=$((ino + 1))
  namesize=$((${#name} + 1))
  printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
    "$ino" "$mode" "$uid" "$gid" "$nlink" 0 "$size" 0 0 "$rmaj" "$rmin" "$namesize" 0
  printf '%s\000' "$name"
  zeros $(((4 - (110 + namesize) % 4) % 4))
  if [ -n "$src" ]; then
    cat "$src"
    zeros $(((4 - size % 4) % 4))
  fi
}

# Names are stored without the leading "/", as gen_init_cpio does.
strip() { printf '%s' "${1#/}"; }

{
  while read -r kind name a b c d e f; do
    case $kind in
      ''|'#'*) continue ;;
      dir)
        entry "$(strip "$name")" $((0040000 | 0$a)) "$b" "$c" 2 0 0 0 ;;
      nod)
        case $d in
          c) type=8192 ;;   # S_IFCHR
          b) type=24576 ;;  # S_IFBLK
          *) fail "nod $name: type must be c or b, not '$d'" ;;
        esac
        entry "$(strip "$name")" $((type | 0$a)) "$b" "$c" 1 0 "$e" "$f" ;;
      file)
        [ -f "$a" ] || fail "file $name: no such source file: $a"
        size=$(wc -c < "$a")
        size=$((size + 0))
        entry "$(strip "$name")" $((0100000 | 0$b)) "$c" "$d" 1 "$size" 0 0 "$a" ;;
      *)
        fail "unknown entry kind '$kind'" ;;
    esac
  done
  entry 'TRAILER!!!' 0 0 0 1 0 0 0
} > "$out"
