import { suite } from "uvu";
import * as assert from "uvu/assert";
import { INSERT_CHUNK, INSERT_CHUNK_BYTES, chunkJobs, prepareJob } from "../src/engine/insert.js";

const test = suite("insert chunking");
const job = (args: Record<string, unknown>) => prepareJob({ worker: "W", args }, "", Infinity);

test("splits by count", () => {
  const jobs = Array.from({ length: INSERT_CHUNK * 2 + 1 }, (_, i) => job({ i }));
  assert.equal(chunkJobs(jobs).map((c) => c.length), [INSERT_CHUNK, INSERT_CHUNK, 1]);
});

test("splits by size, so no statement parameter approaches PostgreSQL's 1 GB limit", () => {
  const big = "x".repeat(Math.ceil(INSERT_CHUNK_BYTES / 3));
  const chunks = chunkJobs([job({ big }), job({ big }), job({ big }), job({ big })]);
  assert.equal(chunks.map((c) => c.length), [2, 2]);
  for (const chunk of chunks) assert.ok(chunk.reduce((n, j) => n + j.argsJson.length, 0) <= INSERT_CHUNK_BYTES);
});

test("a single job larger than the chunk size still goes alone", () => {
  const huge = "x".repeat(INSERT_CHUNK_BYTES + 10);
  assert.equal(chunkJobs([job({ a: 1 }), job({ huge }), job({ b: 2 })]).map((c) => c.length), [1, 1, 1]);
  assert.equal(chunkJobs([]), []);
});

test.run();
