#!/usr/bin/env node
import module from "node:module";

// Scripts call `oban enqueue` once per job, so start-up time is part of every call. Node >= 22.1
// keeps compiled code between runs (in the OS temp dir), which cuts the cost of loading oclif and pg.
module.enableCompileCache?.();
// oclif checks its own engines range with semver as it loads (~30 ms); package.json states ours.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= "1";

const { execute } = await import("@oclif/core");
await execute({ dir: import.meta.url });
