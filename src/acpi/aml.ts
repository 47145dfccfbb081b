// A small AML (ACPI Machine Language, ACPI 6.x §20) encoder: just the terms nodevmm's DSDT needs.
// Every function returns the encoded bytes of one term, so a table body is plain concatenation:
//
//   scope('\\_SB_', device('PWRB', name('_HID', eisaId('PNP0C0C'))))
//
// The output matches what iasl emits for the same ASL (with its name-path optimization off, -on): the
// unit tests compare them byte for byte. No parser, no evaluation: the guest's interpreter does that.

/** Encoded AML: one or more complete terms. */
export type Aml = Uint8Array;

const Op = {
  ZERO: 0x00,
  ONE: 0x01,
  NAME: 0x08,
  BYTE_PREFIX: 0x0a,
  WORD_PREFIX: 0x0b,
  DWORD_PREFIX: 0x0c,
  STRING_PREFIX: 0x0d,
  QWORD_PREFIX: 0x0e,
  SCOPE: 0x10,
  BUFFER: 0x11,
  PACKAGE: 0x12,
  METHOD: 0x14,
  DUAL_NAME_PREFIX: 0x2e,
  MULTI_NAME_PREFIX: 0x2f,
  EXT_PREFIX: 0x5b,
  ROOT_CHAR: 0x5c,
  PARENT_PREFIX: 0x5e,
  LOCAL0: 0x60,
  ARG0: 0x68,
  STORE: 0x70,
  AND: 0x7b,
  OR: 0x7d,
  NOTIFY: 0x86,
  LAND: 0x90,
  LNOT: 0x92,
  LEQUAL: 0x93,
  IF: 0xa0,
  ELSE: 0xa1,
  RETURN: 0xa4,
  ONES: 0xff,
} as const;

const ExtOp = {
  OP_REGION: 0x80,
  FIELD: 0x81,
  DEVICE: 0x82,
} as const;

const U64_MAX = (1n << 64n) - 1n;

/** Concatenates terms (or raw byte lists) into one byte string. */
export function concat(...parts: readonly (Uint8Array | readonly number[])[]): Aml {
  const total = parts.reduce((sum, p) => sum + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Package length (§20.2.4): 1 byte for up to 63, else a lead byte holding the byte count in bits 7:6
// and the low nibble, followed by up to three more bytes. Max 2^28 - 1.

const PKG_LENGTH_LIMITS = [0x40, 1 << 12, 1 << 20, 1 << 28] as const;

/** Encodes `value` in the PkgLength format without adding its own size (field bit lengths use this). */
export function encodePkgLength(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0 || value >= PKG_LENGTH_LIMITS[3]) {
    throw new RangeError(`package length ${value} is out of range [0, 2^28)`);
  }
  const count = PKG_LENGTH_LIMITS.findIndex((limit) => value < limit) + 1;
  return encodeInBytes(value, count);
}

/** The PkgLength of a term whose body (what follows the PkgLength) is `bodyLength` bytes long. */
export function pkgLength(bodyLength: number): Uint8Array {
  // The encoded value counts the PkgLength bytes themselves, so pick the first width that still fits.
  for (let count = 1; count <= 4; count++) {
    const value = bodyLength + count;
    if (value < PKG_LENGTH_LIMITS[count - 1]) return encodeInBytes(value, count);
  }
  throw new RangeError(`AML term body of ${bodyLength} bytes is too long for a package length`);
}

function encodeInBytes(value: number, count: number): Uint8Array {
  if (count === 1) return Uint8Array.of(value);
  const out = new Uint8Array(count);
  out[0] = ((count - 1) << 6) | (value & 0x0f);
  for (let i = 1; i < count; i++) out[i] = (value >>> (4 + 8 * (i - 1))) & 0xff;
  return out;
}

/** `prefix PkgLength body`: the shape of every term that can contain others. */
function withPkgLength(prefix: readonly number[], body: Uint8Array): Aml {
  return concat(prefix, pkgLength(body.length), body);
}

// ---------------------------------------------------------------------------------------------
// Names (§20.2.2)

const LEAD_NAME_CHAR = /^[A-Z_]$/;
const NAME_CHAR = /^[A-Z0-9_]$/;

/** One 4-character NameSeg; shorter names are padded with '_' as iasl does ("GED" → "GED_"). */
export function nameSeg(seg: string): Uint8Array {
  if (seg.length < 1 || seg.length > 4) throw new RangeError(`AML name segment "${seg}" must be 1 to 4 characters`);
  const padded = seg.padEnd(4, '_');
  if (!LEAD_NAME_CHAR.test(padded[0]) || ![...padded.slice(1)].every((c) => NAME_CHAR.test(c))) {
    throw new RangeError(`AML name segment "${seg}" must be A-Z or _ followed by A-Z, 0-9 or _`);
  }
  return Uint8Array.from(padded, (c) => c.charCodeAt(0));
}

/**
 * A NameString: "\\_SB_.PWRB" (absolute), "^^FOO" (relative to an ancestor), "PWRB" (searched upwards
 * by the interpreter), or "" for NullName.
 */
export function nameString(path: string): Aml {
  let at = 0;
  const prefix: number[] = [];
  if (path.startsWith('\\')) {
    prefix.push(Op.ROOT_CHAR);
    at = 1;
  } else {
    while (path[at] === '^') {
      prefix.push(Op.PARENT_PREFIX);
      at++;
    }
  }
  const rest = path.slice(at);
  if (rest === '') return concat(prefix, [0x00]); // NullName; "\\" alone is the root itself
  const segs = rest.split('.').map(nameSeg);
  if (segs.length > 255) throw new RangeError(`AML name path "${path}" has more than 255 segments`);
  if (segs.length === 1) return concat(prefix, segs[0]);
  if (segs.length === 2) return concat(prefix, [Op.DUAL_NAME_PREFIX], ...segs);
  return concat(prefix, [Op.MULTI_NAME_PREFIX, segs.length], ...segs);
}

// ---------------------------------------------------------------------------------------------
// Data objects (§20.2.3)

export const Zero: Aml = Uint8Array.of(Op.ZERO);
export const One: Aml = Uint8Array.of(Op.ONE);
/** All bits set; 0xFFFFFFFF in a revision-1 (32-bit) definition block. */
export const Ones: Aml = Uint8Array.of(Op.ONES);

/** An integer in the shortest encoding: Zero, One, or Byte/Word/DWord/QWord with its prefix. */
export function integer(value: number | bigint): Aml {
  const v = toU64(value);
  if (v === 0n) return Zero;
  if (v === 1n) return One;
  if (v <= 0xffn) return fixedInteger(Op.BYTE_PREFIX, v, 1);
  if (v <= 0xffffn) return fixedInteger(Op.WORD_PREFIX, v, 2);
  if (v <= 0xffff_ffffn) return fixedInteger(Op.DWORD_PREFIX, v, 4);
  return fixedInteger(Op.QWORD_PREFIX, v, 8);
}

/** Fixed-width constants, for when a width must not be shortened (e.g. to patch the value later). */
export const byteConst = (value: number): Aml => fixedInteger(Op.BYTE_PREFIX, checkedWidth(value, 1), 1);
export const wordConst = (value: number): Aml => fixedInteger(Op.WORD_PREFIX, checkedWidth(value, 2), 2);
export const dwordConst = (value: number): Aml => fixedInteger(Op.DWORD_PREFIX, checkedWidth(value, 4), 4);
export const qwordConst = (value: number | bigint): Aml => fixedInteger(Op.QWORD_PREFIX, toU64(value), 8);

function toU64(value: number | bigint): bigint {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new RangeError(`AML integer ${value} is not a safe integer (pass a bigint)`);
  }
  const v = BigInt(value);
  if (v < 0n || v > U64_MAX) throw new RangeError(`AML integer ${value} does not fit in 64 unsigned bits`);
  return v;
}

function checkedWidth(value: number, bytes: number): bigint {
  const v = toU64(value);
  if (v >= 1n << BigInt(8 * bytes)) throw new RangeError(`AML integer ${value} does not fit in ${bytes} byte(s)`);
  return v;
}

function fixedInteger(prefix: number, value: bigint, bytes: number): Aml {
  const out = new Uint8Array(1 + bytes);
  out[0] = prefix;
  for (let i = 0; i < bytes; i++) out[1 + i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** A String: ASCII characters 0x01–0x7F, NUL-terminated. */
export function string(text: string): Aml {
  const codes = Array.from(text, (c) => c.charCodeAt(0));
  if (codes.some((c) => c < 0x01 || c > 0x7f)) throw new RangeError(`AML string "${text}" must be ASCII without NUL`);
  return concat([Op.STRING_PREFIX], codes, [0x00]);
}

/** Buffer (n) { bytes }: the size is the byte count. */
export function buffer(bytes: Uint8Array | readonly number[]): Aml {
  return withPkgLength([Op.BUFFER], concat(integer(bytes.length), bytes));
}

/** Package { elements }: each element a data object or a name (a NameString is stored unresolved). */
export function pkg(...elements: Aml[]): Aml {
  if (elements.length > 255) throw new RangeError(`AML Package of ${elements.length} elements needs VarPackage`);
  return withPkgLength([Op.PACKAGE], concat([elements.length], ...elements));
}

/**
 * EISAID("PNP0501"): three upper-case letters (5 bits each, 'A' = 1) and four hex digits, compressed
 * into 32 bits and stored byte-swapped, as a DWordConst (what iasl emits for EisaId()).
 */
export function eisaId(id: string): Aml {
  return dwordConst(eisaIdValue(id));
}

/** The 32-bit value of EISAID(id), as the disassembler shows it (PNP0501 → 0x0105D041). */
export function eisaIdValue(id: string): number {
  if (!/^[A-Z]{3}[0-9A-F]{4}$/.test(id)) throw new RangeError(`EISA id "${id}" must be 3 letters A-Z and 4 hex digits`);
  const letters = [0, 1, 2].map((i) => (id.charCodeAt(i) - 0x40) & 0x1f);
  const packed = ((letters[0] << 26) | (letters[1] << 21) | (letters[2] << 16) | parseInt(id.slice(3), 16)) >>> 0;
  // The letters and product number are big-endian in memory; AML integers are little-endian.
  return (
    (((packed & 0xff) << 24) | ((packed & 0xff00) << 8) | ((packed >>> 8) & 0xff00) | (packed >>> 24)) >>> 0
  );
}

// ---------------------------------------------------------------------------------------------
// Named objects and namespace modifiers (§20.2.5.1, §20.2.5.2)

/** Name (name, object) */
export function name(path: string, object: Aml): Aml {
  return concat([Op.NAME], nameString(path), object);
}

/** Scope (path) { terms } */
export function scope(path: string, ...terms: Aml[]): Aml {
  return withPkgLength([Op.SCOPE], concat(nameString(path), ...terms));
}

/** Device (name) { terms } */
export function device(path: string, ...terms: Aml[]): Aml {
  return withPkgLength([Op.EXT_PREFIX, ExtOp.DEVICE], concat(nameString(path), ...terms));
}

/**
 * Method (name, argCount, Serialized | NotSerialized) { terms }, sync level 0. Serialize a method that
 * creates named objects or must not run twice at once: the interpreter then holds a mutex around it.
 */
export function method(path: string, argCount: number, serialized: boolean, ...terms: Aml[]): Aml {
  if (!Number.isInteger(argCount) || argCount < 0 || argCount > 7) {
    throw new RangeError(`AML method argument count ${argCount} must be 0 to 7`);
  }
  const flags = argCount | (serialized ? 0x08 : 0);
  return withPkgLength([Op.METHOD], concat(nameString(path), [flags], ...terms));
}

/** Region spaces of OperationRegion (§19.6.100). */
export const RegionSpace = {
  SystemMemory: 0x00,
  SystemIO: 0x01,
  PCI_Config: 0x02,
  EmbeddedControl: 0x03,
  SMBus: 0x04,
  SystemCMOS: 0x05,
  PciBarTarget: 0x06,
} as const;
export type RegionSpace = (typeof RegionSpace)[keyof typeof RegionSpace];

/** OperationRegion (name, space, offset, length) */
export function operationRegion(path: string, space: RegionSpace, offset: number | bigint, length: number | bigint): Aml {
  return concat([Op.EXT_PREFIX, ExtOp.OP_REGION], nameString(path), [space], integer(offset), integer(length));
}

/** Access width of a Field (FieldFlags bits 3:0). */
export const FieldAccess = {
  AnyAcc: 0,
  ByteAcc: 1,
  WordAcc: 2,
  DWordAcc: 3,
  QWordAcc: 4,
  BufferAcc: 5,
} as const;
export type FieldAccess = (typeof FieldAccess)[keyof typeof FieldAccess];

/** What a write does to the bits of the access unit outside the field (FieldFlags bits 6:5). */
export const FieldUpdate = {
  Preserve: 0,
  WriteAsOnes: 1,
  WriteAsZeros: 2,
} as const;
export type FieldUpdate = (typeof FieldUpdate)[keyof typeof FieldUpdate];

export interface FieldFlags {
  access: FieldAccess;
  /** take the global lock around each access (Lock) or not (NoLock) */
  lock: boolean;
  update: FieldUpdate;
}

/** One entry of a field list: a named field of `bits` bits, or `bits` skipped bits (ASL Offset / ", n"). */
export type FieldElement = { name: string; bits: number } | { skip: number };

/** Field (region, access, lock, update) { name, bits; ... } */
export function field(region: string, flags: FieldFlags, elements: readonly FieldElement[]): Aml {
  const flagByte = flags.access | (flags.lock ? 0x10 : 0) | (flags.update << 5);
  const list = elements.map((e) =>
    'name' in e ? concat(nameSeg(e.name), encodePkgLength(e.bits)) : concat([0x00], encodePkgLength(e.skip)),
  );
  return withPkgLength([Op.EXT_PREFIX, ExtOp.FIELD], concat(nameString(region), [flagByte], ...list));
}

// ---------------------------------------------------------------------------------------------
// Statements and expressions (§20.2.5.3, §20.2.5.4)

/** LocalN (0–7) */
export function local(n: number): Aml {
  if (!Number.isInteger(n) || n < 0 || n > 7) throw new RangeError(`Local${n} does not exist (Local0–Local7)`);
  return Uint8Array.of(Op.LOCAL0 + n);
}

/** ArgN (0–6) */
export function arg(n: number): Aml {
  if (!Number.isInteger(n) || n < 0 || n > 6) throw new RangeError(`Arg${n} does not exist (Arg0–Arg6)`);
  return Uint8Array.of(Op.ARG0 + n);
}

/** A reference to a named object, used as an operand or a target. */
export const ref = nameString;

/** Return (value) */
export function ret(value: Aml): Aml {
  return concat([Op.RETURN], value);
}

/** Notify (object, value) */
export function notify(object: Aml, value: Aml): Aml {
  return concat([Op.NOTIFY], object, value);
}

/** Store (source, target), in ASL+ `target = source` */
export function store(source: Aml, target: Aml): Aml {
  return concat([Op.STORE], source, target);
}

/** No target: the result is only used as an operand (ASL+ `(a & b)` inside an expression). */
const NO_TARGET: Aml = Uint8Array.of(0x00);

/** And (a, b[, target]) */
export function and(a: Aml, b: Aml, target: Aml = NO_TARGET): Aml {
  return concat([Op.AND], a, b, target);
}

/** Or (a, b[, target]) */
export function or(a: Aml, b: Aml, target: Aml = NO_TARGET): Aml {
  return concat([Op.OR], a, b, target);
}

/** LEqual (a, b), ASL+ `a == b` */
export function lEqual(a: Aml, b: Aml): Aml {
  return concat([Op.LEQUAL], a, b);
}

/** LAnd (a, b), ASL+ `a && b` */
export function lAnd(a: Aml, b: Aml): Aml {
  return concat([Op.LAND], a, b);
}

/** LNot (a), ASL+ `!a` */
export function lNot(a: Aml): Aml {
  return concat([Op.LNOT], a);
}

/** If (predicate) { terms } */
export function ifThen(predicate: Aml, ...terms: Aml[]): Aml {
  return withPkgLength([Op.IF], concat(predicate, ...terms));
}

/** Else { terms }: place it right after an ifThen(). */
export function orElse(...terms: Aml[]): Aml {
  return withPkgLength([Op.ELSE], concat(...terms));
}

// ---------------------------------------------------------------------------------------------
// Resource templates for _CRS (§6.4); the descriptors themselves are in aml-resources.ts.

/** ResourceTemplate () { descriptors }: a Buffer ending with an End Tag (checksum 0 = not checked). */
export function resourceTemplate(...descriptors: Uint8Array[]): Aml {
  return buffer(concat(...descriptors, [0x79, 0x00]));
}

export * from './aml-resources.js';
