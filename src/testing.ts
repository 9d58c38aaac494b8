/**
 * oban-ts/testing: helpers for your own test suites (after Oban.Testing).
 *
 * - performJob: one attempt of a worker, in-process, no database; returns how it ended.
 * - drainQueue: runs a queue's jobs here and now through the real engine; returns counts by outcome.
 * - assertEnqueued / refuteEnqueued / allEnqueued: what your code enqueued, with failure messages
 *   that list the jobs there are.
 *
 * The database helpers use the instance you pass as `oban`, else the last one started: a test
 * setup of `Oban.start({ queues: {} })` gives them a pool and prefix without running any queue.
 */
export { performJob, type PerformOptions, type PerformResult } from "./testing/perform.js";
export { drainQueue, type DrainOptions, type DrainResult } from "./testing/drain.js";
export { assertEnqueued, refuteEnqueued, allEnqueued, type EnqueuedFilter, type AssertOptions } from "./testing/assert.js";
