import { Flags } from "@oclif/core";
import { ObanError, invalid } from "../errors.js";
import { UNIQUE_STATE_GROUPS, normaliseUnique, type UniqueOptions, type UniqueSpec } from "../engine/unique-options.js";
import { parseDuration } from "./duration.js";
import { parseList } from "./job-input.js";

/**
 * `--unique PERIOD` turns unique inserts on (PERIOD: 60s, 10m, 1d, seconds, or infinity); the
 * other `--unique-*` flags refine it and require it, so a lone `--unique-states` cannot silently
 * mean "not unique".
 */
export const uniqueFlags = {
  unique: Flags.string({
    description: "insert only if no matching job exists from the last PERIOD (60s, 10m, 1d, seconds, or infinity); a match is printed instead",
    helpGroup: "UNIQUE",
  }),
  "unique-fields": Flags.string({ description: "what a match compares: args,queue,worker,meta (default args,queue,worker)", dependsOn: ["unique"], helpGroup: "UNIQUE" }),
  "unique-keys": Flags.string({ description: "compare only these keys of args/meta, comma-separated", dependsOn: ["unique"], helpGroup: "UNIQUE" }),
  "unique-states": Flags.string({
    description: `states a match may be in: a group (${Object.keys(UNIQUE_STATE_GROUPS).join(", ")}; default successful) or a comma-separated list`,
    dependsOn: ["unique"],
    helpGroup: "UNIQUE",
  }),
  "unique-timestamp": Flags.string({ description: "what the period counts back on: inserted_at (default) or scheduled_at", dependsOn: ["unique"], helpGroup: "UNIQUE" }),
};

type UniqueFlagValues = { [K in keyof typeof uniqueFlags]?: string };

/** The validated unique options, or undefined without --unique. Errors name the flag. */
export function parseUniqueFlags(flags: UniqueFlagValues): UniqueSpec | undefined {
  if (flags.unique === undefined) return undefined;
  const options: Record<string, unknown> = {
    period: flags.unique.trim().toLowerCase() === "infinity" ? "infinity" : parseDuration(flags.unique, "--unique") / 1000,
  };
  if (flags["unique-fields"] !== undefined) options.fields = trimmed(parseList(flags["unique-fields"], "--unique-fields")!);
  if (flags["unique-keys"] !== undefined) options.keys = trimmed(parseList(flags["unique-keys"], "--unique-keys")!);
  if (flags["unique-states"] !== undefined) {
    const states = flags["unique-states"].trim();
    // One word that names a group is the group (`scheduled` is both; they mean the same).
    options.states = states in UNIQUE_STATE_GROUPS ? states : trimmed(parseList(states, "--unique-states")!);
  }
  if (flags["unique-timestamp"] !== undefined) options.timestamp = flags["unique-timestamp"].trim();
  try {
    return normaliseUnique(options as UniqueOptions, "unique");
  } catch (error) {
    throw toFlagError(error);
  }
}

function trimmed(items: string[]): string[] {
  return items.map((item) => item.trim()).filter((item) => item !== "");
}

/** `unique.period: …` reads `--unique: …` on the command line, `unique.keys[0]` reads `--unique-keys`. */
function toFlagError(error: unknown): unknown {
  if (!(error instanceof ObanError) || !error.field?.startsWith("unique.")) return error;
  const option = error.field.slice("unique.".length).replace(/\[\d+\]$/, "");
  const flag = option === "period" ? "--unique" : `--unique-${option}`;
  return invalid(flag, error.message.slice(error.field.length + 2));
}
