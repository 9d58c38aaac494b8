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
export { MAX_ENCODED_BYTES, Atom, atom, EtfDecodeError } from "./etf-terms.js";
export { encodeTerm, encodeRecorded, type EncodeOptions } from "./etf-encode.js";
export { decodeTerm, decodeRecorded } from "./etf-decode.js";
