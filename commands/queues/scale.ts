import { Flags } from "@oclif/core";
import { SignalCommand } from "../../src/cli/signal-command.js";
import { parseInteger } from "../../src/cli/job-input.js";
import { queueSignal, type QueueSignal } from "../../src/engine/control.js";
import { invalid } from "../../src/errors.js";

export default class Scale extends SignalCommand {
  static override summary = "Signal running nodes to change a queue's concurrency limit";

  static override examples = [
    "<%= config.bin %> queues scale mailers --limit 20",
    "<%= config.bin %> queues scale mailers --limit 2 --node web-1",
  ];

  static override flags = {
    ...SignalCommand.flags,
    limit: Flags.string({ description: "the new local limit (jobs at once per node)", required: true }),
  };

  protected signal(queue: string, flags: { node?: string; name?: string; limit?: string }): QueueSignal {
    const limit = parseInteger(flags.limit, "--limit")!;
    if (limit < 1) throw invalid("--limit", `must be a positive integer (got ${flags.limit})`);
    return queueSignal("scale", queue, { limit, node: flags.node, name: flags.name });
  }
}
