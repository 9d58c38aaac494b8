import { suite } from "uvu";
import * as assert from "uvu/assert";
import { LocalBuffer } from "../src/runtime/local-buffer.js";
import type { Job } from "../src/engine/job.js";

const test = suite("local buffer sizing");

test("no buffer before any job has finished, nor when disabled", () => {
  assert.is(new LocalBuffer(5, 100).target(10), 0);
  const disabled = new LocalBuffer(0, 100);
  disabled.observe(0.01);
  assert.is(disabled.target(10), 0);
});

test("holds about budget ms of work at full concurrency, capped by maxJobs", () => {
  const buffer = new LocalBuffer(5, 1000);
  buffer.observe(1); // 1 ms per job, 10 at once: 10 jobs per ms, 5 ms of work = 50 jobs
  assert.is(buffer.target(10), 50);
  const capped = new LocalBuffer(5, 20);
  capped.observe(1);
  assert.is(capped.target(10), 20);
});

test("slow jobs get no buffer", () => {
  const buffer = new LocalBuffer(5, 1000);
  buffer.observe(2_000);
  assert.is(buffer.target(10), 0);
});

test("the duration estimate follows recent jobs", () => {
  const buffer = new LocalBuffer(5, 1000);
  buffer.observe(0.1);
  const fast = buffer.target(10);
  for (let i = 0; i < 50; i++) buffer.observe(100);
  assert.ok(buffer.target(10) < fast);
  assert.is(buffer.target(10), 0);
});

test("a cancelled job can be removed before it starts", () => {
  const buffer = new LocalBuffer(5, 10);
  buffer.push([{ id: "1" }, { id: "2" }] as Job[]);
  assert.is(buffer.remove("1"), true);
  assert.is(buffer.remove("3"), false);
  assert.equal(buffer.takeAll().map((j) => j.id), ["2"]);
  assert.is(buffer.size, 0);
});

test.run();
