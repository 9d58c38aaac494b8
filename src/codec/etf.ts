/**
 * Erlang External Term Format (ETF) for recorded job results (COMPAT §10).
 *
 * A recorded result is stored in `meta.return` as base64 (standard alphabet,
 * `=` padding stripped) of `term_to_binary(value)`. Elixir reads it with
 * `:erlang.binary_to_term/1`, Oban.py with erlpack, so we emit the terms each
 * of them turns into a natural value:
 *
 *   JS string            -> BINARY_EXT (UTF-8)            Elixir "string"
 *   safe integer, bigint -> SMALL_INTEGER / INTEGER / SMALL_BIG / LARGE_BIG
 *   other finite number  -> NEW_FLOAT_EXT (including integral doubles beyond 2^53)
 *   true / false         -> atom true / false
 *   null / undefined     -> atom nil
 *   array                -> LIST_EXT (NIL tail), [] -> NIL_EXT
 *   plain object, Map    -> MAP_EXT (object keys are binaries)
 *   Atom instance        -> SMALL_ATOM_UTF8_EXT (ATOM_UTF8_EXT above 255 bytes)
 *   Buffer / Uint8Array  -> BINARY_EXT with the raw bytes
 *
 * Decoding accepts all of the above plus the older/alternative tags Erlang and
 * other encoders produce (ATOM_EXT, SMALL_ATOM_EXT, ATOM_UTF8_EXT, STRING_EXT,
 * tuples, LARGE_BIG_EXT, FLOAT_EXT, compressed terms).
 *
 * Spec: https://www.erlang.org/doc/apps/erts/erl_ext_dist.html
 */
import { inflateSync } from "node:zlib";
import { ObanError } from "../errors.js";

/** Oban.py's default limit on an encoded recorded result (COMPAT §10). */
export const MAX_ENCODED_BYTES = 64_000_000;

const VERSION = 131;
const COMPRESSED = 80;
const NEW_FLOAT_EXT = 70;
const SMALL_INTEGER_EXT = 97;
const INTEGER_EXT = 98;
const FLOAT_EXT = 99;
const ATOM_EXT = 100;
const SMALL_TUPLE_EXT = 104;
const LARGE_TUPLE_EXT = 105;
const NIL_EXT = 106;
const STRING_EXT = 107;
const LIST_EXT = 108;
const BINARY_EXT = 109;
const SMALL_BIG_EXT = 110;
const LARGE_BIG_EXT = 111;
const SMALL_ATOM_EXT = 115;
const MAP_EXT = 116;
const ATOM_UTF8_EXT = 118;
const SMALL_ATOM_UTF8_EXT = 119;

const TAG_NAMES: Record<number, string> = {
  67: "LOCAL_EXT",
  77: "BIT_BINARY_EXT",
  82: "ATOM_CACHE_REF",
  88: "NEW_PID_EXT",
  89: "NEW_PORT_EXT",
  90: "NEWER_REFERENCE_EXT",
  101: "REFERENCE_EXT",
  102: "PORT_EXT",
  103: "PID_EXT",
  112: "NEW_FUN_EXT",
  113: "EXPORT_EXT",
  114: "NEW_REFERENCE_EXT",
  117: "FUN_EXT",
  120: "V4_PORT_EXT",
  121: "LOCAL_EXT",
};

/** An Erlang atom to encode. Decoded atoms come back as plain strings (or booleans / null). */
export class Atom {
  readonly name: string;
  constructor(name: string) {
    if (typeof name !== "string") throw new TypeError("Atom name must be a string");
    this.name = name;
  }
  toString(): string {
    return `:${this.name}`;
  }
}

export function atom(name: string): Atom {
  return new Atom(name);
}

/** Raised for bytes that are not a well-formed, supported ETF term. */
export class EtfDecodeError extends Error {
  constructor(message: string) {
    super(`ETF decode: ${message}`);
    this.name = "EtfDecodeError";
  }
}

export interface EncodeOptions {
  /** Name of the root value in error messages. Default `result`. */
  path?: string;
  /** Refuse to produce more than this many bytes. Default 64,000,000. */
  maxBytes?: number;
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

class Writer {
  private buf = Buffer.alloc(256);
  len = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly rootPath: string,
  ) {}

  private ensure(n: number): void {
    const need = this.len + n;
    if (need > this.maxBytes) {
      throw new ObanError(
        "invalid_input",
        `${this.rootPath}: encoded term exceeds the ${this.maxBytes}-byte limit for recorded results`,
        { field: this.rootPath },
      );
    }
    if (need > this.buf.length) {
      const next = Buffer.alloc(Math.min(Math.max(need, this.buf.length * 2), this.maxBytes));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.len);
    this.len += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.len);
    this.len += 4;
  }

  i32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.len);
    this.len += 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.len);
    this.len += 8;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** Reserve room for a UTF-8 string and write it in place (no intermediate Buffer). */
  utf8(s: string, byteLength: number): void {
    this.ensure(byteLength);
    this.buf.write(s, this.len, byteLength, "utf8");
    this.len += byteLength;
  }

  result(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function childPath(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return IDENT.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

// A lone surrogate cannot be encoded as UTF-8; Buffer would silently turn it into U+FFFD.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (typeof value === "function") return "a function";
  if (typeof value === "symbol") return "a symbol";
  if (typeof value === "object" && value !== null) {
    const name = (value as { constructor?: { name?: string } }).constructor?.name;
    return name ? `an instance of ${name}` : "an object with a custom prototype";
  }
  return String(value);
}

class Encoder {
  readonly w: Writer;
  private readonly ancestors = new Set<object>();

  constructor(maxBytes: number, rootPath: string) {
    this.w = new Writer(maxBytes, rootPath);
  }

  encode(value: unknown, path: string): void {
    switch (typeof value) {
      case "string":
        return this.string(value, path);
      case "number":
        return this.number(value, path);
      case "bigint":
        return this.integer(value);
      case "boolean":
        return this.atom(value ? "true" : "false", path);
      case "undefined":
        return this.atom("nil", path);
      case "function":
      case "symbol":
        throw new TypeError(`${path}: cannot encode ${describe(value)} as an Erlang term`);
      case "object":
        break;
    }
    if (value === null) return this.atom("nil", path);
    const obj = value as object;

    if (obj instanceof Atom) return this.atom(obj.name, path);
    if (obj instanceof Uint8Array) {
      this.w.u8(BINARY_EXT);
      this.w.u32(obj.length);
      this.w.bytes(obj);
      return;
    }

    if (this.ancestors.has(obj)) {
      throw new TypeError(`${path}: circular reference cannot be encoded as an Erlang term`);
    }
    this.ancestors.add(obj);
    try {
      if (Array.isArray(obj)) return this.list(obj, path);
      if (obj instanceof Map) return this.map(obj, path);
      if (isPlainObject(obj)) return this.object(obj as Record<string, unknown>, path);
      const toJSON = (obj as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === "function") {
        // Date and friends: encode what JSON.stringify would have stored.
        const replacement: unknown = toJSON.call(obj, "");
        if (replacement === obj) throw new TypeError(`${path}: toJSON() returned the object itself`);
        return this.encode(replacement, path);
      }
      throw new TypeError(
        `${path}: cannot encode ${describe(obj)} as an Erlang term (use a plain object, array, Map or primitive)`,
      );
    } finally {
      this.ancestors.delete(obj);
    }
  }

  private string(s: string, path: string): void {
    if (LONE_SURROGATE.test(s)) {
      throw new TypeError(`${path}: string contains a lone UTF-16 surrogate and is not valid UTF-8`);
    }
    const n = Buffer.byteLength(s, "utf8");
    this.w.u8(BINARY_EXT);
    this.w.u32(n);
    this.w.utf8(s, n);
  }

  private number(n: number, path: string): void {
    if (!Number.isFinite(n)) {
      throw new TypeError(`${path}: cannot encode ${n} as an Erlang term (Erlang floats are finite)`);
    }
    // Integral values within ±(2^53 - 1) are integers; beyond that a JS number has
    // already lost integer precision, so it stays a float (use bigint for big integers).
    if (Number.isSafeInteger(n)) return this.integer(n);
    this.w.u8(NEW_FLOAT_EXT);
    this.w.f64(n);
  }

  private integer(n: number | bigint): void {
    if (n >= 0 && n <= 255) {
      this.w.u8(SMALL_INTEGER_EXT);
      this.w.u8(Number(n));
      return;
    }
    if (n >= -2147483648 && n <= 2147483647) {
      this.w.u8(INTEGER_EXT);
      this.w.i32(Number(n));
      return;
    }
    let big = BigInt(n);
    const negative = big < 0n;
    if (negative) big = -big;
    let hex = big.toString(16);
    if (hex.length % 2 === 1) hex = `0${hex}`;
    const digits = Buffer.from(hex, "hex").reverse(); // little-endian base-256 digits
    if (digits.length <= 255) {
      this.w.u8(SMALL_BIG_EXT);
      this.w.u8(digits.length);
    } else {
      this.w.u8(LARGE_BIG_EXT);
      this.w.u32(digits.length);
    }
    this.w.u8(negative ? 1 : 0);
    this.w.bytes(digits);
  }

  private atom(name: string, path: string): void {
    if (LONE_SURROGATE.test(name)) throw new TypeError(`${path}: atom name is not valid UTF-8`);
    if ([...name].length > 255) throw new TypeError(`${path}: atom name longer than 255 characters`);
    const bytes = Buffer.from(name, "utf8");
    if (bytes.length <= 255) {
      this.w.u8(SMALL_ATOM_UTF8_EXT);
      this.w.u8(bytes.length);
    } else {
      this.w.u8(ATOM_UTF8_EXT);
      this.w.u16(bytes.length);
    }
    this.w.bytes(bytes);
  }

  private list(items: unknown[], path: string): void {
    if (items.length === 0) {
      this.w.u8(NIL_EXT);
      return;
    }
    this.w.u8(LIST_EXT);
    this.w.u32(items.length);
    for (let i = 0; i < items.length; i++) this.encode(items[i], childPath(path, i));
    this.w.u8(NIL_EXT);
  }

  private object(obj: Record<string, unknown>, path: string): void {
    const keys = Object.keys(obj);
    for (const key of Object.getOwnPropertySymbols(obj)) {
      if (Object.prototype.propertyIsEnumerable.call(obj, key)) {
        throw new TypeError(`${path}: symbol key ${String(key)} cannot be encoded as an Erlang term`);
      }
    }
    this.w.u8(MAP_EXT);
    this.w.u32(keys.length);
    for (const key of keys) {
      const p = childPath(path, key);
      this.string(key, p);
      this.encode(obj[key], p);
    }
  }

  private map(map: Map<unknown, unknown>, path: string): void {
    this.w.u8(MAP_EXT);
    this.w.u32(map.size);
    let i = 0;
    for (const [key, value] of map) {
      const p = typeof key === "string" ? childPath(path, key) : `${path}<key #${i}>`;
      this.encode(key, p);
      this.encode(value, p);
      i++;
    }
  }
}

function stackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack/i.test(e.message);
}

/** `:erlang.term_to_binary(value)` for a JS value (uncompressed, version 131). */
export function encodeTerm(value: unknown, options: EncodeOptions = {}): Buffer {
  const rootPath = options.path ?? "result";
  const maxBytes = options.maxBytes ?? MAX_ENCODED_BYTES;
  const enc = new Encoder(maxBytes, rootPath);
  enc.w.u8(VERSION);
  try {
    enc.encode(value, rootPath);
  } catch (e) {
    if (stackOverflow(e)) throw new TypeError(`${rootPath}: value is nested too deeply to encode`);
    throw e;
  }
  return enc.w.result();
}

/** Base64 (standard alphabet, `=` stripped) of the ETF bytes: the `meta.return` text. */
export function encodeRecorded(value: unknown, options: EncodeOptions = {}): string {
  return encodeTerm(value, options).toString("base64").replace(/=+$/, "");
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  need(n: number, what: string): void {
    if (n > this.remaining) {
      throw new EtfDecodeError(`truncated input reading ${what} at byte ${this.pos} (need ${n}, have ${this.remaining})`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  u16(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  i32(what: string): number {
    this.need(4, what);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  take(n: number, what: string): Buffer {
    this.need(n, what);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

function atomValue(name: string, raw: boolean): unknown {
  if (raw) return name;
  switch (name) {
    case "true":
      return true;
    case "false":
      return false;
    case "nil":
    case "undefined":
      return null;
    default:
      return name;
  }
}

function binaryValue(bytes: Buffer): string | Buffer {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    // Not UTF-8: an arbitrary Erlang binary. Hand back a copy of the bytes.
    return Buffer.from(bytes);
  }
}

function keyString(key: unknown): string {
  if (typeof key === "string") return key;
  if (typeof key === "number" || typeof key === "bigint" || typeof key === "boolean") return String(key);
  if (key === null) return "nil";
  if (Buffer.isBuffer(key)) return key.toString("utf8");
  // Tuples, lists or maps as keys: no natural JS property name; use their JSON text.
  return JSON.stringify(key, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

function decodeBig(r: Reader, n: number): number | bigint {
  const sign = r.u8("big integer sign");
  const digits = r.take(n, "big integer digits");
  let value = 0n;
  if (n > 0) value = BigInt(`0x${Buffer.from(digits).reverse().toString("hex")}`);
  if (sign !== 0) value = -value;
  if (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
  return value;
}

function decodeElements(r: Reader, count: number, what: string): unknown[] {
  // Every element takes at least one byte: refuse absurd counts before allocating.
  r.need(count, what);
  const out = new Array<unknown>(count);
  for (let i = 0; i < count; i++) out[i] = decodeAny(r, false);
  return out;
}

function decodeAny(r: Reader, rawAtom: boolean): unknown {
  const at = r.pos;
  const tag = r.u8("tag");
  switch (tag) {
    case SMALL_INTEGER_EXT:
      return r.u8("SMALL_INTEGER_EXT");
    case INTEGER_EXT:
      return r.i32("INTEGER_EXT");
    case SMALL_BIG_EXT:
      return decodeBig(r, r.u8("SMALL_BIG_EXT length"));
    case LARGE_BIG_EXT:
      return decodeBig(r, r.u32("LARGE_BIG_EXT length"));
    case NEW_FLOAT_EXT: {
      r.need(8, "NEW_FLOAT_EXT");
      const v = r.buf.readDoubleBE(r.pos);
      r.pos += 8;
      return v;
    }
    case FLOAT_EXT: {
      const text = r.take(31, "FLOAT_EXT").toString("latin1").replace(/\0+$/, "").trim();
      const v = Number(text);
      if (text === "" || !Number.isFinite(v)) throw new EtfDecodeError(`bad FLOAT_EXT text ${JSON.stringify(text)} at byte ${at}`);
      return v;
    }
    case ATOM_EXT:
      return atomValue(r.take(r.u16("ATOM_EXT length"), "ATOM_EXT").toString("latin1"), rawAtom);
    case SMALL_ATOM_EXT:
      return atomValue(r.take(r.u8("SMALL_ATOM_EXT length"), "SMALL_ATOM_EXT").toString("latin1"), rawAtom);
    case ATOM_UTF8_EXT:
      return atomValue(r.take(r.u16("ATOM_UTF8_EXT length"), "ATOM_UTF8_EXT").toString("utf8"), rawAtom);
    case SMALL_ATOM_UTF8_EXT:
      return atomValue(r.take(r.u8("SMALL_ATOM_UTF8_EXT length"), "SMALL_ATOM_UTF8_EXT").toString("utf8"), rawAtom);
    case BINARY_EXT:
      return binaryValue(r.take(r.u32("BINARY_EXT length"), "BINARY_EXT"));
    case STRING_EXT:
      // A list of integers 0..255 (a charlist); each byte is one code point.
      return r.take(r.u16("STRING_EXT length"), "STRING_EXT").toString("latin1");
    case NIL_EXT:
      return [];
    case LIST_EXT: {
      const items = decodeElements(r, r.u32("LIST_EXT length"), "LIST_EXT elements");
      const tailAt = r.pos;
      if (r.u8("list tail") !== NIL_EXT) {
        throw new EtfDecodeError(`improper list (tail is not []) at byte ${tailAt} is not supported`);
      }
      return items;
    }
    case SMALL_TUPLE_EXT:
      return decodeElements(r, r.u8("SMALL_TUPLE_EXT arity"), "SMALL_TUPLE_EXT elements");
    case LARGE_TUPLE_EXT:
      return decodeElements(r, r.u32("LARGE_TUPLE_EXT arity"), "LARGE_TUPLE_EXT elements");
    case MAP_EXT: {
      const arity = r.u32("MAP_EXT arity");
      r.need(arity * 2, "MAP_EXT pairs");
      const obj: Record<string, unknown> = {};
      for (let i = 0; i < arity; i++) {
        const key = keyString(decodeAny(r, true));
        const value = decodeAny(r, false);
        // defineProperty so a "__proto__" key stays an ordinary own property.
        Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
      }
      return obj;
    }
    case COMPRESSED:
      throw new EtfDecodeError(`compressed term is only allowed at the top level (byte ${at})`);
    default: {
      const name = TAG_NAMES[tag];
      throw new EtfDecodeError(`unsupported tag ${tag}${name ? ` (${name})` : ""} at byte ${at}`);
    }
  }
}

function decodeWhole(buf: Buffer): unknown {
  const r = new Reader(buf);
  const value = decodeAny(r, false);
  if (r.remaining !== 0) throw new EtfDecodeError(`${r.remaining} trailing byte(s) after the term`);
  return value;
}

/** `:erlang.binary_to_term(buf)` into natural JS values (see module comment). */
export function decodeTerm(input: Buffer | Uint8Array): unknown {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (buf.length === 0) throw new EtfDecodeError("empty input");
  if (buf[0] !== VERSION) throw new EtfDecodeError(`bad version byte ${buf[0]} (expected 131)`);
  try {
    if (buf[1] === COMPRESSED) {
      if (buf.length < 6) throw new EtfDecodeError("truncated compressed term header");
      const size = buf.readUInt32BE(2);
      if (size === 0) throw new EtfDecodeError("compressed term declares an uncompressed size of 0");
      let inflated: Buffer;
      try {
        inflated = inflateSync(buf.subarray(6), { maxOutputLength: size });
      } catch (e) {
        throw new EtfDecodeError(`bad zlib data in compressed term: ${(e as Error).message}`);
      }
      if (inflated.length !== size) {
        throw new EtfDecodeError(`compressed term inflated to ${inflated.length} bytes, header says ${size}`);
      }
      return decodeWhole(inflated);
    }
    return decodeWhole(buf.subarray(1));
  } catch (e) {
    if (stackOverflow(e)) throw new EtfDecodeError("term is nested too deeply");
    throw e;
  }
}

const BASE64 = /^[A-Za-z0-9+/]*$/;

/** Decode a `meta.return` text: base64 with or without `=` padding, then ETF. */
export function decodeRecorded(text: string): unknown {
  if (typeof text !== "string") throw new EtfDecodeError("recorded result must be a base64 string");
  const body = text.trim().replace(/=+$/, "");
  if (!BASE64.test(body)) throw new EtfDecodeError("recorded result is not standard base64");
  if (body.length % 4 === 1) throw new EtfDecodeError("recorded result has an impossible base64 length");
  const padded = body + "=".repeat((4 - (body.length % 4)) % 4);
  return decodeTerm(Buffer.from(padded, "base64"));
}
