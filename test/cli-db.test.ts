import { suite } from "uvu";
import * as assert from "uvu/assert";
import { execa, type ResultPromise } from "execa";
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const bin = path.join(root, "bin", "run.js");
const freshDir = () => path.join(root, ".oban-test", `c-${randomBytes(4).toString("hex")}`);

const children = new Set<ResultPromise>();
const env: Record<string, string | undefined> = { NO_COLOR: "1", FORCE_COLOR: undefined, OBAN_EMBEDDED_DIR: undefined };

async function oban(...args: string[]) {
  const child = execa(process.execPath, [bin, ...args], { cwd: root, env, reject: false, timeout: 60_000, stdin: "ignore" });
  children.add(child);
  try {
    return await child;
  } finally {
    children.delete(child);
  }
}

async function cleanup(dir: string) {
  for (const child of children) child.kill("SIGKILL");
  await oban("db", "stop", "--dir", dir);
  await fs.rm(dir, { recursive: true, force: true });
}

const json = (stdout: string) => JSON.parse(stdout);

const Cli = suite("oban db start|status|stop");

Cli("status of a fresh folder exits 1 and says not initialised", async () => {
  const dir = freshDir();
  try {
    const text = await oban("db", "status", "--dir", dir);
    assert.is(text.exitCode, 1, text.stderr);
    assert.match(text.stdout, /not running/);
    const result = await oban("db", "status", "--dir", dir, "--json");
    assert.is(result.exitCode, 1, result.stderr);
    assert.equal(json(result.stdout), { running: false, initialised: false, dataDir: path.join(dir, "pgdata") });
  } finally {
    await cleanup(dir);
  }
});

Cli("start, reuse, status, stop through the CLI", async () => {
  const dir = freshDir();
  try {
    const started = await oban("db", "start", "--dir", dir);
    assert.is(started.exitCode, 0, started.stderr);
    assert.match(started.stdout, /started: pid \d+, port \d+/);
    assert.match(started.stdout, /url: +postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres/);
    const password = (await fs.readFile(path.join(dir, "password"), "utf8")).trim();
    assert.not.ok(started.stdout.includes(password), "text output hides the password");

    const again = await oban("db", "start", "--dir", dir, "--json");
    assert.is(again.exitCode, 0, again.stderr);
    const server = json(again.stdout);
    assert.equal(Object.keys(server).sort(), ["dataDir", "pid", "port", "startedNow", "url"]);
    assert.is(server.startedNow, false);
    assert.is(server.url, `postgres://postgres:${password}@127.0.0.1:${server.port}/postgres`);
    assert.is(server.dataDir, path.join(dir, "pgdata"));
    assert.match(started.stdout, new RegExp(`pid ${server.pid}, port ${server.port}`));

    const status = await oban("db", "status", "--dir", dir, "--json");
    assert.is(status.exitCode, 0, status.stderr);
    assert.equal(json(status.stdout), { running: true, initialised: true, port: server.port, pid: server.pid, url: server.url, dataDir: server.dataDir });
    const statusText = await oban("db", "status", "--dir", dir);
    assert.is(statusText.exitCode, 0);
    assert.match(statusText.stdout, /running: pid \d+/);
    assert.not.ok(statusText.stdout.includes(password));

    const stopped = await oban("db", "stop", "--dir", dir, "--json");
    assert.is(stopped.exitCode, 0, stopped.stderr);
    assert.equal(json(stopped.stdout), { stopped: true, dataDir: server.dataDir });

    const after = await oban("db", "status", "--dir", dir, "--json");
    assert.is(after.exitCode, 1);
    assert.equal(json(after.stdout), { running: false, initialised: true, dataDir: server.dataDir });

    const stopAgain = await oban("db", "stop", "--dir", dir);
    assert.is(stopAgain.exitCode, 0);
    assert.match(stopAgain.stdout, /not running/);
  } finally {
    await cleanup(dir);
  }
});

Cli("two commands starting at once share one server", async () => {
  const dir = freshDir();
  try {
    const results = await Promise.all([oban("db", "start", "--dir", dir, "--json"), oban("db", "start", "--dir", dir, "--json")]);
    for (const r of results) assert.is(r.exitCode, 0, r.stderr);
    const [a, b] = results.map((r) => json(r.stdout));
    assert.is(a.pid, b.pid);
    assert.is(a.port, b.port);
    assert.equal([a.startedNow, b.startedNow].sort(), [false, true]);
  } finally {
    await cleanup(dir);
  }
});

Cli("an unknown flag is a usage error (exit 2)", async () => {
  const result = await oban("db", "status", "--no-such-flag");
  assert.is(result.exitCode, 2, result.stderr);
});

Cli.run();
