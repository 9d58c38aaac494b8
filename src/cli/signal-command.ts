import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "./base.js";
import { DEFAULT_INSTANCE_NAME, sendSignal, type QueueSignal } from "../engine/control.js";

export interface SignalResult {
  channel: string;
  /** The message as sent (COMPAT §13); running producers whose ident matches react to it. */
  payload: QueueSignal;
}

/**
 * `oban queues pause|resume|scale`: publish one signal and report it. Nothing here waits for the
 * producers: every running node (port, Elixir, Oban.py) whose ident matches acts on its own.
 */
export abstract class SignalCommand extends BaseCommand {
  static override args = {
    queue: Args.string({ description: "queue name", required: true }),
  };

  static override flags = {
    node: Flags.string({ description: "only the node with this name (ident <name>.<node>); default: every node (ident any)" }),
    name: Flags.string({ description: `instance name used in the ident with --node (default ${DEFAULT_INSTANCE_NAME})`, dependsOn: ["node"] }),
  };

  /** Builds (and validates) the signal from the parsed input, before the database is touched. */
  protected abstract signal(queue: string, flags: Record<string, unknown>): QueueSignal;

  async run(): Promise<SignalResult> {
    // oclif spreads the options it is given, which drops static members inherited from this class.
    const ctor = this.constructor as typeof SignalCommand;
    const { args, flags } = await this.parse({
      flags: ctor.flags, baseFlags: ctor.baseFlags, enableJsonFlag: ctor.enableJsonFlag, args: ctor.args, strict: ctor.strict,
    } as typeof SignalCommand);
    const payload = this.signal(args.queue, flags);
    const { pool, prefix } = await this.openPool(flags, 1);
    const sent = await sendSignal(pool, prefix, payload);
    const target = payload.ident === "any" ? "every node" : `ident ${payload.ident}`;
    const queue = payload.queue === "*" ? "all queues" : `queue ${payload.queue}`;
    this.log(`sent ${payload.action} for ${queue} to ${target} on ${sent.channel}: ${JSON.stringify(payload)}`);
    return { channel: sent.channel, payload };
  }
}
