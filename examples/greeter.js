// An example worker module, written only against the public API. `oban work --require` loads it.
import { defineWorker, snooze } from "oban-ts";

export const Greeter = defineWorker({
  name: "Example.Greeter",
  queue: "default",
  maxAttempts: 3,
  async perform(job) {
    const { name = "world" } = job.args;
    if (job.args.fail) throw new Error(`could not greet ${name}`);
    if (job.args.snooze && !job.meta.snoozed) return snooze(1);
    console.log(`Hello, ${name}! (job ${job.id}, attempt ${job.attempt})`);
  },
});
