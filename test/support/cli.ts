import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa, type Options, type Result } from "execa";

/** The repository root, from test/support (tsx) or dist/test/support (compiled). */
export const ROOT = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, "../../..") : path.resolve(here, "../..");
})();
export const BIN = path.join(ROOT, "bin", "run.js");

/** uvu forces colours on, and children would inherit that: CLI output is asserted without colour. */
export function cliEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { ...process.env, FORCE_COLOR: undefined, NO_COLOR: "1", ...extra };
}

/** Runs `oban ARGS` to completion with a timeout; never rejects, the result carries the exit code. */
export async function oban(args: string[], options: { input?: string; env?: Record<string, string | undefined>; timeout?: number; cwd?: string } = {}): Promise<Result> {
  const child = execa(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: cliEnv(options.env),
    extendEnv: false,
    reject: false,
    timeout: options.timeout ?? 60_000,
    ...(options.input !== undefined ? { input: options.input } : { stdin: "ignore" }),
  } as Options);
  try {
    return (await child) as Result;
  } finally {
    child.kill("SIGKILL");
  }
}

/** Starts a long-running `oban ARGS` (e.g. work); the caller must kill it in finally. */
export function spawnOban(args: string[], options: { env?: Record<string, string | undefined>; cwd?: string } = {}) {
  return execa(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: cliEnv(options.env),
    extendEnv: false,
    reject: false,
    stdin: "ignore",
    timeout: 120_000,
  });
}
