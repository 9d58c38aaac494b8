import { test } from "uvu";
import * as assert from "uvu/assert";
import { gzipSync } from "node:zlib";
import {
  MAX_PAYLOAD_BYTES,
  PLAIN_LIMIT_BYTES,
  PayloadDecodeError,
  decodePayload,
  encodePayload,
} from "../src/codec/notification.js";
import { ObanError } from "../src/errors.js";

const gz64 = (json: string): string => gzipSync(Buffer.from(json, "utf8")).toString("base64");

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

test("small payload stays plain JSON", () => {
  assert.is(encodePayload({ queue: "default" }), '{"queue":"default"}');
  const sig = { action: "scale", queue: "mailers", limit: 5, ident: "any" };
  assert.is(encodePayload(sig), JSON.stringify(sig));
  assert.equal(decodePayload(encodePayload(sig)), sig);
});

test("exactly 512 bytes stays plain; 513 bytes is gzipped", () => {
  const base = '{"queue":""}'.length;
  const at = { queue: "q".repeat(PLAIN_LIMIT_BYTES - base) };
  assert.is(Buffer.byteLength(JSON.stringify(at)), 512);
  assert.is(encodePayload(at), JSON.stringify(at));
  const over = { queue: "q".repeat(PLAIN_LIMIT_BYTES - base + 1) };
  const enc = encodePayload(over);
  assert.ok(enc.startsWith("H4sI"), enc);
  assert.equal(decodePayload(enc), over);
});

test("threshold counts UTF-8 bytes, not UTF-16 units", () => {
  const obj = { queue: "é".repeat(300) }; // 300 chars, 600 bytes
  assert.ok(JSON.stringify(obj).length < 512);
  const enc = encodePayload(obj);
  assert.ok(enc.startsWith("H4sI"));
  assert.equal(decodePayload(enc), obj);
});

test("large payload becomes base64 gzip (H4sI...) and round-trips", () => {
  const checks = Array.from({ length: 40 }, (_, i) => ({
    uuid: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    node: "worker-1",
    name: "Oban",
    queue: `queue_${i}`,
    local_limit: 10,
    paused: false,
    running: [],
    started_at: "2024-01-01T00:00:00Z",
  }));
  const payload = { checks };
  assert.ok(JSON.stringify(payload).length > 512);
  const enc = encodePayload(payload);
  assert.ok(enc.startsWith("H4sI"));
  assert.ok(/^[A-Za-z0-9+/]+=*$/.test(enc));
  assert.ok(enc.length <= MAX_PAYLOAD_BYTES);
  assert.equal(decodePayload(enc), payload);
});

test("too-large payload throws", () => {
  // random-ish data does not compress well
  let s = "";
  let x = 12345;
  for (let i = 0; i < 12000; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    s += String.fromCharCode(33 + (x % 90));
  }
  throwsWith(() => encodePayload({ data: s }), ObanError, /limit is 7900/);
});

test("Z: payloads (Elixir 2.23 above 512 bytes) decode", () => {
  const obj = { action: "start", queue: "exports", limit: 3, paused: true, note: "ü".repeat(400) };
  assert.equal(decodePayload(`Z:${gz64(JSON.stringify(obj))}`), obj);
});

test("raw base64 gzip (Oban.py) decodes, with or without padding", () => {
  const obj = { queue: "default" };
  const text = gz64(JSON.stringify(obj));
  assert.ok(text.startsWith("H4sI"));
  assert.equal(decodePayload(text), obj);
  assert.equal(decodePayload(text.replace(/=+$/, "")), obj);
});

test("unicode survives every form", () => {
  const obj = { queue: "日本語", ident: "Oban.nœud-🎉", meta: { "ключ": "значение" } };
  assert.equal(decodePayload(encodePayload(obj)), obj);
  assert.equal(decodePayload(`Z:${gz64(JSON.stringify(obj))}`), obj);
  assert.equal(decodePayload(gz64(JSON.stringify(obj))), obj);
  const big = { ...obj, pad: "🎉".repeat(200) };
  const enc = encodePayload(big);
  assert.ok(enc.startsWith("H4sI"));
  assert.equal(decodePayload(enc), big);
});

test("malformed inputs throw PayloadDecodeError", () => {
  throwsWith(() => decodePayload(""), PayloadDecodeError, /empty/);
  throwsWith(() => decodePayload("{not json"), PayloadDecodeError, /not valid JSON/);
  throwsWith(() => decodePayload("[1,2]"), PayloadDecodeError, /base64/); // does not start with {
  throwsWith(() => decodePayload(" {\"a\":1}"), PayloadDecodeError, /base64/);
  throwsWith(() => decodePayload("null"), PayloadDecodeError, /gzip|base64/);
  throwsWith(() => decodePayload("not base64!"), PayloadDecodeError, /not valid base64/);
  throwsWith(() => decodePayload("Z:%%%"), PayloadDecodeError, /Z: payload is not valid base64/);
  throwsWith(() => decodePayload("Z:"), PayloadDecodeError, /base64/);
  throwsWith(() => decodePayload(Buffer.from("plain text").toString("base64")), PayloadDecodeError, /not valid gzip/);
  throwsWith(() => decodePayload(`Z:${Buffer.from("hello").toString("base64")}`), PayloadDecodeError, /not valid gzip/);
  throwsWith(() => decodePayload(gz64("[1,2,3]")), PayloadDecodeError, /not an object/);
  throwsWith(() => decodePayload(gz64("{broken")), PayloadDecodeError, /not valid JSON/);
  throwsWith(() => decodePayload(`Z:${gz64('"str"')}`), PayloadDecodeError, /not an object/);
  throwsWith(() => decodePayload(gzipSync(Buffer.from([0xff, 0xfe])).toString("base64")), PayloadDecodeError, /UTF-8/);
  const truncated = gz64(JSON.stringify({ queue: "x".repeat(100) }));
  throwsWith(() => decodePayload(truncated.slice(0, 24)), PayloadDecodeError, /gzip/);
});

test("encode rejects non-objects and unserialisable values", () => {
  throwsWith(() => encodePayload([] as unknown as Record<string, unknown>), TypeError, /plain object/);
  throwsWith(() => encodePayload(null as unknown as Record<string, unknown>), TypeError, /plain object/);
  throwsWith(() => encodePayload({ n: 1n }), TypeError, /JSON/);
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  throwsWith(() => encodePayload(cyc), TypeError, /JSON/);
});

test.run();
