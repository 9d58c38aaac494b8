/** Erlang External Term Format: terms to JS values (see etf.ts for the mapping). */
import { inflateSync } from "node:zlib";
import { ATOM_EXT, ATOM_UTF8_EXT, BINARY_EXT, COMPRESSED, EtfDecodeError, FLOAT_EXT, INTEGER_EXT, LARGE_BIG_EXT, LARGE_TUPLE_EXT, LIST_EXT, MAP_EXT, NEW_FLOAT_EXT, NIL_EXT, SMALL_ATOM_EXT, SMALL_ATOM_UTF8_EXT, SMALL_BIG_EXT, SMALL_INTEGER_EXT, SMALL_TUPLE_EXT, STRING_EXT, TAG_NAMES, VERSION, stackOverflow } from "./etf-terms.js";

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
