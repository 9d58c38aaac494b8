import { ControlCommand } from "../src/cli/control-command.js";

export default class Delete extends ControlCommand {
  static override summary = "Delete jobs in any state but executing";

  static override usage = ["delete ID... [--dry-run]", "delete --queue Q [--state S] [--worker W] [--limit N] [--dry-run]"];

  static override examples = [
    "<%= config.bin %> delete 42 43",
    "<%= config.bin %> delete --queue mailers --state retryable --dry-run",
    "<%= config.bin %> delete --worker MyApp.Workers.Report --json",
  ];

  protected readonly action = "delete" as const;
}
