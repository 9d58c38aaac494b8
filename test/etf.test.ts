import { test } from "uvu";
import * as assert from "uvu/assert";
import { deflateSync } from "node:zlib";
import {
  Atom,
  EtfDecodeError,
  MAX_ENCODED_BYTES,
  atom,
  decodeRecorded,
  decodeTerm,
  encodeRecorded,
  encodeTerm,
} from "../src/codec/etf.js";
import { ObanError } from "../src/errors.js";

const b = (...parts: Array<number | string | number[]>): Buffer =>
  Buffer.concat(
    parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(typeof p === "number" ? [p] : p))),
  );

const bytes = (buf: Buffer): number[] => [...buf];

function roundTrip(value: unknown): unknown {
  return decodeTerm(encodeTerm(value));
}

function throwsWith(fn: () => unknown, cls: Function, pattern: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, cls);
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected ${cls.name} matching ${pattern}`);
}

// --- exact bytes derived from the spec ---------------------------------------

test("term_to_binary(1) = <<131,97,1>>", () => {
  assert.equal(bytes(encodeTerm(1)), [131, 97, 1]);
  assert.is(decodeTerm(b(131, 97, 1)), 1);
});

test("small integer boundaries: 0, 255 SMALL_INTEGER; 256, -1 INTEGER_EXT", () => {
  assert.equal(bytes(encodeTerm(0)), [131, 97, 0]);
  assert.equal(bytes(encodeTerm(255)), [131, 97, 255]);
  assert.equal(bytes(encodeTerm(256)), [131, 98, 0, 0, 1, 0]);
  assert.equal(bytes(encodeTerm(-1)), [131, 98, 255, 255, 255, 255]);
  assert.equal(bytes(encodeTerm(2147483647)), [131, 98, 127, 255, 255, 255]);
  assert.equal(bytes(encodeTerm(-2147483648)), [131, 98, 128, 0, 0, 0]);
  assert.equal(bytes(encodeTerm(-0)), [131, 97, 0]);
});

test("integers outside 32 bits use SMALL_BIG_EXT (little-endian digits)", () => {
  assert.equal(bytes(encodeTerm(2147483648)), [131, 110, 4, 0, 0, 0, 0, 128]);
  assert.equal(bytes(encodeTerm(-2147483649)), [131, 110, 4, 1, 1, 0, 0, 128]);
  assert.equal(bytes(encodeTerm(2n ** 64n)), [131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.equal(bytes(encodeTerm(7n)), [131, 97, 7]);
  assert.equal(bytes(encodeTerm(-300n)), [131, 98, 255, 255, 254, 212]);
  // Number.MAX_SAFE_INTEGER = 2^53 - 1
  assert.equal(bytes(encodeTerm(Number.MAX_SAFE_INTEGER)), [131, 110, 7, 0, 255, 255, 255, 255, 255, 255, 31]);
});

test("big integers decode to number when safe, bigint beyond 2^53", () => {
  assert.is(decodeTerm(b(131, 110, 7, 0, [255, 255, 255, 255, 255, 255, 31])), Number.MAX_SAFE_INTEGER);
  assert.is(decodeTerm(b(131, 110, 7, 1, [255, 255, 255, 255, 255, 255, 31])), -Number.MAX_SAFE_INTEGER);
  assert.is(decodeTerm(b(131, 110, 7, 0, [0, 0, 0, 0, 0, 0, 32])), 2n ** 53n);
  assert.is(decodeTerm(b(131, 110, 9, 1, [0, 0, 0, 0, 0, 0, 0, 0, 1])), -(2n ** 64n));
  assert.is(decodeTerm(b(131, 110, 0, 0)), 0);
  // LARGE_BIG_EXT
  assert.is(decodeTerm(b(131, 111, [0, 0, 0, 1], 1, 5)), -5);
  assert.is(decodeTerm(b(131, 111, [0, 0, 0, 9], 0, [0, 0, 0, 0, 0, 0, 0, 0, 1])), 2n ** 64n);
});

test("huge bigint (> 255 digit bytes) uses LARGE_BIG_EXT and round-trips", () => {
  const n = -(3n ** 2000n);
  const enc = encodeTerm(n);
  assert.is(enc[1], 111);
  assert.is(enc[6], 1); // sign
  assert.is(decodeTerm(enc), n);
});

test("integers round-trip both ways", () => {
  for (const n of [0, 1, 255, 256, -1, -255, -256, 65535, 2 ** 31, -(2 ** 31) - 1, 2 ** 40, -(2 ** 52), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
    assert.is(roundTrip(n), n, `number ${n}`);
  }
  for (const n of [2n ** 53n, -(2n ** 53n) - 1n, 2n ** 64n - 1n, -(2n ** 100n), 12345678901234567890123456789n]) {
    assert.is(roundTrip(n), n, `bigint ${n}`);
  }
  // An integral double beyond 2^53 has no exact integer meaning: it stays a float.
  assert.equal(bytes(encodeTerm(2 ** 53)), [131, 70, 0x43, 0x40, 0, 0, 0, 0, 0, 0]);
  assert.is(roundTrip(1e20), 1e20);
  assert.is(roundTrip(-2.5e300), -2.5e300);
});

test("term_to_binary(<<\"hi\">>) = <<131,109,0,0,0,2,104,105>>", () => {
  assert.equal(bytes(encodeTerm("hi")), [131, 109, 0, 0, 0, 2, 104, 105]);
  assert.is(decodeTerm(b(131, 109, [0, 0, 0, 2], "hi")), "hi");
  assert.equal(bytes(encodeTerm("")), [131, 109, 0, 0, 0, 0]);
});

test("strings are UTF-8 binaries; unicode round-trips", () => {
  assert.equal(bytes(encodeTerm("é")), [131, 109, 0, 0, 0, 2, 0xc3, 0xa9]);
  for (const s of ["", "héllo wörld", "日本語", "emoji 🎉 ok", "\u0000nul", "\uFEFFbom"]) {
    assert.is(roundTrip(s), s);
  }
});

test("floats use NEW_FLOAT_EXT (IEEE 754 big-endian)", () => {
  assert.equal(bytes(encodeTerm(1.5)), [131, 70, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
  assert.equal(bytes(encodeTerm(-0.1)), [131, 70, 0xbf, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a]);
  for (const f of [1.5, -0.1, 3.141592653589793, 1e-300, -2.5e300, Number.MIN_VALUE, 0.30000000000000004]) {
    assert.is(roundTrip(f), f);
  }
});

test("FLOAT_EXT (old 31-byte string floats) decodes", () => {
  const text = (s: string) => Buffer.concat([Buffer.from(s, "latin1"), Buffer.alloc(31 - s.length)]);
  assert.is(decodeTerm(Buffer.concat([b(131, 99), text("1.50000000000000000000e+00")])), 1.5);
  assert.is(decodeTerm(Buffer.concat([b(131, 99), text("-2.50000000000000000000e-03")])), -0.0025);
  throwsWith(() => decodeTerm(Buffer.concat([b(131, 99), text("abc")])), EtfDecodeError, /FLOAT_EXT/);
});

test("booleans and nil are atoms (SMALL_ATOM_UTF8_EXT)", () => {
  assert.equal(bytes(encodeTerm(true)), bytes(b(131, 119, 4, "true")));
  assert.equal(bytes(encodeTerm(false)), bytes(b(131, 119, 5, "false")));
  assert.equal(bytes(encodeTerm(null)), bytes(b(131, 119, 3, "nil")));
  assert.equal(bytes(encodeTerm(undefined)), bytes(b(131, 119, 3, "nil")));
  assert.is(roundTrip(true), true);
  assert.is(roundTrip(false), false);
  assert.is(roundTrip(null), null);
  assert.is(roundTrip(undefined), null);
});

test("every atom tag decodes; true/false/nil/undefined map to JS values", () => {
  assert.is(decodeTerm(b(131, 100, [0, 4], "true")), true); // ATOM_EXT (OTP < 26 default)
  assert.is(decodeTerm(b(131, 115, 5, "false")), false); // SMALL_ATOM_EXT
  assert.is(decodeTerm(b(131, 118, [0, 3], "nil")), null); // ATOM_UTF8_EXT
  assert.is(decodeTerm(b(131, 119, 9, "undefined")), null); // SMALL_ATOM_UTF8_EXT
  assert.is(decodeTerm(b(131, 119, 2, "ok")), "ok");
  assert.is(decodeTerm(b(131, 100, [0, 5], "error")), "error");
  assert.is(decodeTerm(Buffer.concat([b(131, 119, 2), Buffer.from("ö", "utf8")])), "ö");
  assert.is(decodeTerm(b(131, 100, [0, 1], [0xf6])), "ö"); // latin-1 atom
});

test("Atom values encode as atoms; long names use ATOM_UTF8_EXT", () => {
  assert.equal(bytes(encodeTerm(atom("ok"))), bytes(b(131, 119, 2, "ok")));
  assert.is(decodeTerm(encodeTerm(new Atom("error"))), "error");
  const name = "é".repeat(200); // 200 chars, 400 bytes
  const enc = encodeTerm(atom(name));
  assert.equal(bytes(enc.subarray(0, 4)), [131, 118, 1, 144]);
  assert.is(decodeTerm(enc), name);
  throwsWith(() => encodeTerm(atom("a".repeat(256))), TypeError, /result: atom name longer than 255/);
});

test("lists: [] is NIL_EXT, others LIST_EXT with NIL tail", () => {
  assert.equal(bytes(encodeTerm([])), [131, 106]);
  assert.equal(bytes(encodeTerm([1, 2])), [131, 108, 0, 0, 0, 2, 97, 1, 97, 2, 106]);
  assert.equal(decodeTerm(b(131, 106)), []);
  assert.equal(decodeTerm(b(131, 108, [0, 0, 0, 2], [97, 1, 97, 2], 106)), [1, 2]);
});

test("nested lists round-trip", () => {
  const v = [[], [1, [2, [3, []]]], ["a", ["b"]], [null, true, 1.5]];
  assert.equal(roundTrip(v), v);
  assert.equal(bytes(encodeTerm([[]])), [131, 108, 0, 0, 0, 1, 106, 106]);
});

test("sparse array holes encode as nil", () => {
  // eslint-disable-next-line no-sparse-arrays
  const v = [1, , 3];
  assert.equal(roundTrip(v), [1, null, 3]);
});

test("STRING_EXT (charlist) decodes to a string", () => {
  assert.is(decodeTerm(b(131, 107, [0, 3], "abc")), "abc");
  assert.is(decodeTerm(b(131, 107, [0, 2], [1, 233])), "\u0001é");
});

test("tuples decode to arrays", () => {
  assert.equal(decodeTerm(b(131, 104, 2, [119, 2], "ok", [97, 7])), ["ok", 7]);
  assert.equal(decodeTerm(b(131, 104, 0)), []);
  assert.equal(decodeTerm(b(131, 105, [0, 0, 0, 1], [97, 7])), [7]);
});

test("maps: plain objects become MAP_EXT with binary keys", () => {
  assert.equal(bytes(encodeTerm({ a: 1 })), [131, 116, 0, 0, 0, 1, 109, 0, 0, 0, 1, 97, 97, 1]);
  assert.equal(bytes(encodeTerm({})), [131, 116, 0, 0, 0, 0]);
  const v = {
    status: "ok",
    count: 3,
    ratio: 0.25,
    items: [1, "two", { three: 3 }],
    nested: { deep: { deeper: [true, false, null] } },
    "with space": "x",
    "ключ": "значение",
    big: 2n ** 70n,
  };
  assert.equal(roundTrip(v), v);
  assert.equal(roundTrip(Object.assign(Object.create(null), { a: 1 })), { a: 1 });
});

test("maps with atom, integer keys decode to string keys; __proto__ stays a key", () => {
  // %{ok: 1, 2 => "x"}
  const m = decodeTerm(b(131, 116, [0, 0, 0, 2], [119, 2], "ok", [97, 1], [97, 2], [109, 0, 0, 0, 1], "x")) as Record<string, unknown>;
  assert.equal(m, { ok: 1, "2": "x" });
  // atom keys named true/nil stay names, not "true"/"null" coincidence
  const t = decodeTerm(b(131, 116, [0, 0, 0, 1], [119, 3], "nil", [97, 1])) as Record<string, unknown>;
  assert.equal(Object.keys(t), ["nil"]);
  const p = decodeTerm(encodeTerm(JSON.parse('{"__proto__": {"polluted": 1}}'))) as Record<string, unknown>;
  assert.equal(Object.keys(p), ["__proto__"]);
  assert.is(Object.getPrototypeOf(p), Object.prototype);
  assert.is(({} as Record<string, unknown>).polluted, undefined);
});

test("Map instances encode with arbitrary keys", () => {
  const enc = encodeTerm(new Map<unknown, unknown>([["a", 1], [2, "b"], [atom("k"), true]]));
  assert.equal(decodeTerm(enc), { a: 1, "2": "b", k: true });
});

test("Buffers encode as raw binaries; invalid UTF-8 binaries decode to Buffer", () => {
  assert.equal(bytes(encodeTerm(Buffer.from([0xff, 0x00]))), [131, 109, 0, 0, 0, 2, 0xff, 0]);
  const d = decodeTerm(b(131, 109, [0, 0, 0, 2], [0xff, 0]));
  assert.ok(Buffer.isBuffer(d));
  assert.equal(bytes(d as Buffer), [0xff, 0]);
  assert.is(roundTrip(new Uint8Array([104, 105])), "hi");
});

test("Date encodes through toJSON as an ISO string", () => {
  assert.is(roundTrip(new Date("2024-01-02T03:04:05.000Z")), "2024-01-02T03:04:05.000Z");
});

test("compressed terms (tag 80) decode", () => {
  const value = { list: Array.from({ length: 200 }, (_, i) => `item-${i % 5}`), n: 42 };
  const inner = encodeTerm(value).subarray(1);
  const size = Buffer.alloc(4);
  size.writeUInt32BE(inner.length);
  const compressed = Buffer.concat([b(131, 80), size, deflateSync(inner)]);
  assert.ok(compressed.length < inner.length);
  assert.equal(decodeTerm(compressed), value);
  assert.equal(decodeRecorded(compressed.toString("base64").replace(/=+$/, "")), value);

  // size mismatch and broken zlib are reported
  const wrong = Buffer.from(compressed);
  wrong.writeUInt32BE(inner.length + 1, 2);
  throwsWith(() => decodeTerm(wrong), EtfDecodeError, /inflated to/);
  const small = Buffer.from(compressed);
  small.writeUInt32BE(inner.length - 1, 2);
  throwsWith(() => decodeTerm(small), EtfDecodeError, /zlib/);
  throwsWith(() => decodeTerm(Buffer.concat([b(131, 80), size, Buffer.from("not zlib")])), EtfDecodeError, /zlib/);
});

test("encode errors name the path", () => {
  throwsWith(() => encodeTerm({ items: [1, 2, () => 3] }), TypeError, /result\.items\[2\]: cannot encode a function/);
  throwsWith(() => encodeTerm({ a: { "b c": Symbol("x") } }), TypeError, /result\.a\["b c"\]: cannot encode a symbol/);
  throwsWith(() => encodeTerm([NaN]), TypeError, /result\[0\]: cannot encode NaN/);
  throwsWith(() => encodeTerm({ x: Infinity }), TypeError, /result\.x: cannot encode Infinity/);
  throwsWith(() => encodeTerm(-Infinity, { path: "ret" }), TypeError, /^ret: cannot encode -Infinity/);
  throwsWith(() => encodeTerm({ s: "bad \uD800 surrogate" }), TypeError, /result\.s: .*surrogate/);
  throwsWith(() => encodeTerm({ m: new Set([1]) }), TypeError, /result\.m: cannot encode an instance of Set/);
  throwsWith(() => encodeTerm({ [Symbol("k")]: 1 }), TypeError, /symbol key/);
});

test("cycles are rejected with the path; shared (acyclic) references are fine", () => {
  const a: Record<string, unknown> = { name: "a" };
  a.self = { inner: [a] };
  throwsWith(() => encodeTerm(a), TypeError, /result\.self\.inner\[0\]: circular reference/);
  const arr: unknown[] = [];
  arr.push(arr);
  throwsWith(() => encodeTerm(arr), TypeError, /result\[0\]: circular/);
  const shared = { x: 1 };
  assert.equal(roundTrip([shared, shared, { s: shared }]), [{ x: 1 }, { x: 1 }, { s: { x: 1 } }]);
});

test("size guard: refuses to encode more than 64,000,000 bytes", () => {
  assert.is(MAX_ENCODED_BYTES, 64_000_000);
  try {
    encodeTerm({ blob: "a".repeat(64_000_000) });
    assert.unreachable("expected size error");
  } catch (e) {
    assert.instance(e, ObanError);
    assert.is((e as ObanError).code, "invalid_input");
    assert.match((e as Error).message, /64000000-byte limit/);
  }
  throwsWith(() => encodeTerm(["abcdef", "ghijkl"], { maxBytes: 16 }), ObanError, /limit/);
  assert.is(encodeTerm("abc", { maxBytes: 9 }).length, 9);
  throwsWith(() => encodeTerm("abc", { maxBytes: 8 }), ObanError, /limit/);
});

test("decode errors are clear", () => {
  throwsWith(() => decodeTerm(Buffer.alloc(0)), EtfDecodeError, /empty/);
  throwsWith(() => decodeTerm(b(130, 97, 1)), EtfDecodeError, /version byte 130/);
  throwsWith(() => decodeTerm(b(131)), EtfDecodeError, /truncated/);
  throwsWith(() => decodeTerm(b(131, 109, [0, 0, 0, 5], "hi")), EtfDecodeError, /truncated.*BINARY_EXT/);
  throwsWith(() => decodeTerm(b(131, 97, 1, 2)), EtfDecodeError, /1 trailing byte/);
  throwsWith(() => decodeTerm(b(131, 103, 0)), EtfDecodeError, /unsupported tag 103 \(PID_EXT\)/);
  throwsWith(() => decodeTerm(b(131, 108, [0, 0, 0, 1], [97, 1], [97, 2])), EtfDecodeError, /improper list/);
  throwsWith(() => decodeTerm(b(131, 108, [255, 255, 255, 255], 106)), EtfDecodeError, /truncated/);
  throwsWith(() => decodeTerm(b(131, 116, [255, 255, 255, 255])), EtfDecodeError, /truncated/);
});

test("deep nesting reports a clear error instead of a raw stack overflow", () => {
  const depth = 200_000;
  // each level = LIST_EXT len 1, child, NIL tail; the innermost child is []
  const parts: Buffer[] = [b(131)];
  for (let i = 0; i < depth; i++) parts.push(b(108, 0, 0, 0, 1));
  parts.push(b(106));
  for (let i = 0; i < depth; i++) parts.push(b(106));
  throwsWith(() => decodeTerm(Buffer.concat(parts)), EtfDecodeError, /nested too deeply/);
});

test("recorded: base64 with padding stripped, restored on decode", () => {
  assert.is(encodeRecorded(1), "g2EB"); // 3 bytes: no padding
  assert.is(encodeTerm("hi").toString("base64"), "g20AAAACaGk=");
  assert.is(encodeRecorded("hi"), "g20AAAACaGk");
  assert.is(encodeTerm(true).toString("base64"), "g3cEdHJ1ZQ==");
  assert.is(encodeRecorded(true), "g3cEdHJ1ZQ");
  assert.is(decodeRecorded("g20AAAACaGk"), "hi");
  assert.is(decodeRecorded("g20AAAACaGk="), "hi");
  assert.is(decodeRecorded("g3cEdHJ1ZQ"), true);
  assert.is(decodeRecorded("g3cEdHJ1ZQ=="), true);
  const v = { result: [1, 2.5, "x", null, { y: 10n ** 30n }] };
  const text = encodeRecorded(v);
  assert.not.match(text, /=/);
  assert.equal(decodeRecorded(text), v);
  throwsWith(() => decodeRecorded("g2E*"), EtfDecodeError, /base64/);
  throwsWith(() => decodeRecorded("g2EBg"), EtfDecodeError, /base64 length/);
});

test("Elixir-shaped result: %{\"a\" => [1, 2.5, \"x\"]} by hand", () => {
  const expected = b(
    131, 116, [0, 0, 0, 1],
    [109, 0, 0, 0, 1], "a",
    [108, 0, 0, 0, 3],
    [97, 1],
    [70, 0x40, 0x04, 0, 0, 0, 0, 0, 0],
    [109, 0, 0, 0, 1], "x",
    106,
  );
  assert.equal(bytes(encodeTerm({ a: [1, 2.5, "x"] })), bytes(expected));
  assert.equal(decodeTerm(expected), { a: [1, 2.5, "x"] });
});

test.run();
