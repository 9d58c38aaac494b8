#!/usr/bin/env node
// `npm run bench [-- --quick ...]`: installs bench/ dependencies if missing, then runs the side-by-side
// comparison (bench/run.js) and the oban-only measures (bench/ours.js) with the same arguments.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const args = process.argv.slice(2);
const step = (cmd, argv, cwd = here) => {
  const r = spawnSync(cmd, argv, { cwd, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
if (!existsSync(new URL("node_modules/.package-lock.json", import.meta.url))) step("npm", ["install"]);
step(process.execPath, ["run.js", ...args]);
step(process.execPath, ["ours.js", ...args.filter((a) => a === "--quick")]);
