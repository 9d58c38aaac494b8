/** Erlang External Term Format: JS values to terms (see etf.ts for the mapping). */
import { ObanError } from "../errors.js";
import { ATOM_UTF8_EXT, Atom, BINARY_EXT, INTEGER_EXT, LARGE_BIG_EXT, LIST_EXT, MAP_EXT, MAX_ENCODED_BYTES, NEW_FLOAT_EXT, NIL_EXT, SMALL_ATOM_UTF8_EXT, SMALL_BIG_EXT, SMALL_INTEGER_EXT, VERSION, stackOverflow } from "./etf-terms.js";

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
