import { suite } from "uvu";
import * as assert from "uvu/assert";
import { prepareJob } from "../src/engine/insert.js";

// Args and meta are checked by a quick walk; anything it refuses is walked again to name the
// problem. These cases pin both: what is accepted, and the path named in each rejection.
const test = suite("args validation");
const prepare = (args: unknown) => prepareJob({ worker: "W", args: args as Record<string, unknown> });
const rejects = (args: unknown, message: RegExp) => {
  try {
    prepare(args);
  } catch (error) {
    assert.match((error as Error).message, message);
    return;
  }
  assert.unreachable(`accepted ${String(args)}`);
};

test("accepts nested JSON, dates, and skips undefined properties as JSON does", () => {
  const at = new Date("2030-01-01T00:00:00Z");
  const job = prepare({ a: [1, "two", { three: true, four: null }], at, gone: undefined, "é": "ü" });
  assert.equal(JSON.parse(job.argsJson), { a: [1, "two", { three: true, four: null }], at: at.toISOString(), "é": "ü" });
  assert.equal(prepare(Object.assign(Object.create(null), { x: 1 })).argsJson, '{"x":1}');
});

test("accepts nesting deeper than the quick walk goes", () => {
  let deep: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < 200; i++) deep = { d: deep };
  assert.ok(prepare(deep).argsJson.endsWith('{"leaf":1}' + "}".repeat(200)));
});

test("names the offending path for every kind of bad value, however deep", () => {
  rejects({ a: { b: ["ok", "nul\u0000"] } }, /args\.a\.b\[1\]: contains \\u0000/);
  rejects({ a: { ["\ud800"]: 1 } }, /args\.a key: contains a lone UTF-16 surrogate/);
  rejects({ n: [1, Number.NaN] }, /args\.n\[1\]: NaN is not representable in JSON/);
  rejects({ n: Infinity }, /args\.n: Infinity is not representable/);
  rejects({ m: new Map() }, /args\.m: .* is not a JSON value/);
  rejects({ f: () => 1 }, /args\.f: .* is not a JSON value/);
  rejects({ b: 10n }, /args\.b: .* is not a JSON value/);
  const cyclic: Record<string, unknown> = { x: 1 };
  cyclic.self = { back: cyclic };
  rejects(cyclic, /args\.self\.back: contains a cycle/);
  rejects([1, 2], /args: must be a JSON object/);
});

test("a shared (not cyclic) object is fine", () => {
  const shared = { s: 1 };
  assert.equal(JSON.parse(prepare({ a: shared, b: [shared, shared] }).argsJson), { a: { s: 1 }, b: [{ s: 1 }, { s: 1 }] });
});

test.run();
