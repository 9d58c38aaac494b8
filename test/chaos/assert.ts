import * as assert from "uvu/assert";
import type { Figures } from "./harness.js";

/** The guarantees every fault scenario must keep; prints the figures first so a failure shows them. */
export function assertGuarantees(f: Figures, options: { duplicatesAllowed?: boolean } = {}): void {
  console.log(`figures: ${JSON.stringify(f)}`);
  assert.is(f.lost, 0, `${f.scenario}: jobs lost (states ${JSON.stringify(f.notes.states)})`);
  assert.ok(f.drainMs !== null, `${f.scenario}: every job completed after the last fault`);
  assert.is(f.executingAtEnd, 0, `${f.scenario}: jobs left executing`);
  assert.is(f.overlaps, 0, `${f.scenario}: a job executed twice at the same time`);
  assert.ok(f.duplicates <= f.inFlightAtFaults, `${f.scenario}: ${f.duplicates} duplicate executions, but only ${f.inFlightAtFaults} jobs were in flight at the faults`);
  if (options.duplicatesAllowed === false) assert.is(f.duplicates, 0, `${f.scenario}: duplicate executions without any fault`);
}
