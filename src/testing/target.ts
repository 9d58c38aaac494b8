import { ObanError } from "../errors.js";
import { Oban } from "../runtime/oban.js";

/** The instance a helper works on: the one given, else the last started, as enqueue chooses. */
export function targetOban(oban: Oban | undefined, helper: string): Oban {
  const target = oban ?? Oban.current;
  if (!target) {
    throw new ObanError("config", `${helper}: no Oban instance is running (start one in your test setup, e.g. Oban.start({ queues: {} }), or pass { oban })`);
  }
  return target;
}
