# Sourced after scripts/lib/debian.sh: unpacks the ELF vmlinux from a bzImage's compressed payload.
# The setup header (the Linux x86 boot protocol, Documentation/x86/boot.rst) locates the payload;
# its last 4 bytes (little endian) are the uncompressed size.

le32() { od -An -tu4 -j "$2" -N 4 "$1" | tr -d ' '; }
u8() { od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' '; }
u16() { od -An -tu2 -j "$2" -N 2 "$1" | tr -d ' '; }
hexbytes() { od -An -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n'; }

# extract_vmlinux BZIMAGE OUT: writes the payload's vmlinux to OUT; sets `protocol` (the boot
# protocol, e.g. 2.15) and `comp` (the payload's compression)
extract_vmlinux() {
  bz=$1
  [ "$(hexbytes "$bz" 514 4)" = 48647253 ] || die "$bz: no 'HdrS' setup header: not a bzImage"
  proto=$(u16 "$bz" 518)
  [ "$proto" -ge $((0x208)) ] || die "$bz: boot protocol $proto < 2.08 has no payload fields"
  protocol=$((proto >> 8)).$((proto & 255))
  xloadflags=$(u16 "$bz" 566)
  [ $((xloadflags & 1)) -eq 1 ] || die "$bz: xloadflags has no XLF_KERNEL_64"
  setup_sects=$(u8 "$bz" 497)
  [ "$setup_sects" -ne 0 ] || setup_sects=4
  payload_offset=$(le32 "$bz" 584)
  payload_length=$(le32 "$bz" 588)
  start=$(((setup_sects + 1) * 512 + payload_offset))
  magic=$(hexbytes "$bz" "$start" 6)
  case $magic in
    1f8b*)           comp=gzip;  tool=gzip;  pkgname=gzip ;;
    fd377a585a00)    comp=xz;    tool=xz;    pkgname=xz-utils ;;
    28b52ffd*)       comp=zstd;  tool=zstd;  pkgname=zstd ;;
    02214c18*)       comp=lz4;   tool=lz4;   pkgname=lz4 ;;
    425a68*)         comp=bzip2; tool=bzip2; pkgname=bzip2 ;;
    5d0000*)         comp=lzma;  tool=xz;    pkgname=xz-utils ;;
    894c5a4f*)       comp=lzo;   tool=lzop;  pkgname=lzop ;;
    *) die "$bz: unknown payload compression (magic $magic at offset $start)" ;;
  esac
  log "bzImage: boot protocol $protocol, payload $payload_length bytes at file offset $start, $comp (magic $magic)"
  need "$tool" "$pkgname"

  payload=$2.payload
  tail -c +$((start + 1)) "$bz" | head -c "$payload_length" > "$payload"
  expect=$(le32 "$payload" $((payload_length - 4)))
  strip4() { head -c $((payload_length - 4)) "$payload"; }
  case $comp in
    gzip)  gzip -dc < "$payload" > "$2" || true ;;   # trailing padding makes gzip complain
    xz)    strip4 | xz -dc --single-stream > "$2" ;;
    lzma)  strip4 | xz -dc --format=lzma > "$2" ;;
    zstd)  strip4 | zstd -dcq > "$2" ;;
    lz4)   strip4 | lz4 -dcq > "$2" ;;
    bzip2) strip4 | bzip2 -dc > "$2" ;;
    lzo)   strip4 | lzop -dc > "$2" ;;
  esac
  rm -f "$payload"
  got=$(wc -c < "$2")
  got=$((got + 0))
  [ "$got" -eq "$expect" ] || die "$2: decompressed $got bytes, the payload says $expect"
}
