// Leftover compiled files would still load as oclif commands and as tests, so every build starts clean.
import { rmSync } from "node:fs";
rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true });
rmSync(new URL("../oclif.manifest.json", import.meta.url), { force: true });
