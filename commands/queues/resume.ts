import { SignalCommand } from "../../src/cli/signal-command.js";
import { queueSignal, type QueueSignal } from "../../src/engine/control.js";

export default class Resume extends SignalCommand {
  static override summary = "Signal running nodes to resume a queue (* for all queues)";

  static override examples = [
    "<%= config.bin %> queues resume mailers",
    "<%= config.bin %> queues resume '*' --node web-1",
  ];

  protected signal(queue: string, flags: { node?: string; name?: string }): QueueSignal {
    return queueSignal("resume", queue, { node: flags.node, name: flags.name });
  }
}
