import type { QueueStateCount } from "../engine/maintenance.js";
import { plainTable } from "./inspect-render.js";

export function countsTable(counts: QueueStateCount[]): string {
  return plainTable(["queue", "state", "jobs"], counts.map((c) => [c.queue, c.state, c.count]));
}
