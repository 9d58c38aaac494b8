/** Erlang External Term Format: tags and the types shared by the encoder and decoder (see etf.ts). */
/** Oban.py's default limit on an encoded recorded result (COMPAT §10). */
export const MAX_ENCODED_BYTES = 64_000_000;

export const VERSION = 131;
export const COMPRESSED = 80;
export const NEW_FLOAT_EXT = 70;
export const SMALL_INTEGER_EXT = 97;
export const INTEGER_EXT = 98;
export const FLOAT_EXT = 99;
export const ATOM_EXT = 100;
export const SMALL_TUPLE_EXT = 104;
export const LARGE_TUPLE_EXT = 105;
export const NIL_EXT = 106;
export const STRING_EXT = 107;
export const LIST_EXT = 108;
export const BINARY_EXT = 109;
export const SMALL_BIG_EXT = 110;
export const LARGE_BIG_EXT = 111;
export const SMALL_ATOM_EXT = 115;
export const MAP_EXT = 116;
export const ATOM_UTF8_EXT = 118;
export const SMALL_ATOM_UTF8_EXT = 119;

export const TAG_NAMES: Record<number, string> = {
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

/** True for the RangeError V8 throws when recursion runs out of stack. */
export function stackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack/i.test(e.message);
}
