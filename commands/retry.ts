import { ControlCommand } from "../src/cli/control-command.js";

export default class Retry extends ControlCommand {
  static override summary = "Make jobs available to run now: every state but available and executing (exhausted attempts get one more)";

  static override usage = ["retry ID... [--dry-run]", "retry --queue Q [--state S] [--worker W] [--limit N] [--dry-run]"];

  static override examples = [
    "<%= config.bin %> retry 42 43",
    "<%= config.bin %> retry --queue mailers --state retryable --dry-run",
    "<%= config.bin %> retry --worker MyApp.Workers.Report --json",
  ];

  protected readonly action = "retry" as const;
}
