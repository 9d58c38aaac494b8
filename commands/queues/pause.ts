import { SignalCommand } from "../../src/cli/signal-command.js";
import { queueSignal, type QueueSignal } from "../../src/engine/control.js";

export default class Pause extends SignalCommand {
  static override summary = "Signal running nodes to pause a queue (* for all queues)";

  static override examples = [
    "<%= config.bin %> queues pause mailers",
    "<%= config.bin %> queues pause '*' --node web-1",
  ];

  protected signal(queue: string, flags: { node?: string; name?: string }): QueueSignal {
    return queueSignal("pause", queue, { node: flags.node, name: flags.name });
  }
}
