import { ControlCommand } from "../src/cli/control-command.js";

export default class Cancel extends ControlCommand {
  static override summary = "Cancel jobs: every state but completed, discarded and cancelled, running ones included (they get a pkill signal)";

  static override usage = ["cancel ID... [--dry-run]", "cancel --queue Q [--state S] [--worker W] [--limit N] [--dry-run]"];

  static override examples = [
    "<%= config.bin %> cancel 42 43",
    "<%= config.bin %> cancel --queue mailers --state retryable --dry-run",
    "<%= config.bin %> cancel --worker MyApp.Workers.Report --json",
  ];

  protected readonly action = "cancel" as const;
}
