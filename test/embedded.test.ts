import { suite } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { embeddedStatus, ensureEmbedded, stopEmbedded } from "../src/db/embedded.js";

// Under the repository, not /tmp: every parent of the data folder must be enterable by `postgres`.
const root = fileURLToPath(new URL("../..", import.meta.url));
const freshDir = () => path.join(root, ".oban-test", `e-${randomBytes(4).toString("hex")}`);

async function cleanup(dir: string) {
  await stopEmbedded({ dir }).catch(() => {});
  await fs.rm(dir, { recursive: true, force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function query(url: string, sql: string): Promise<any[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

const Embedded = suite("embedded PostgreSQL");

Embedded("status of a folder never initialised", async () => {
  const dir = freshDir();
  try {
    const status = await embeddedStatus({ dir });
    assert.is(status.running, false);
    assert.is(status.initialised, false);
    assert.is(status.dataDir, path.join(dir, "pgdata"));
    assert.equal(await stopEmbedded({ dir }), { stopped: false, dataDir: path.join(dir, "pgdata") });
  } finally {
    await cleanup(dir);
  }
});

Embedded("starts, is reused, stops, and restarts on the remembered port", async () => {
  const dir = freshDir();
  try {
    const lines: string[] = [];
    const first = await ensureEmbedded({ dir, log: (line) => lines.push(line) });
    assert.is(first.startedNow, true);
    assert.ok(first.port > 0);
    assert.ok(alive(first.pid), "server pid is alive");
    assert.is(first.dataDir, path.join(dir, "pgdata"));
    assert.match(first.url, new RegExp(`^postgres://postgres:[^@]+@127\\.0\\.0\\.1:${first.port}/postgres$`));
    assert.ok(lines.some((l) => l.includes("initialising")), "logged the initdb");
    assert.ok(existsSync(path.join(dir, "pgdata", "PG_VERSION")));
    assert.is(statSync(path.join(dir, "password")).mode & 0o777, 0o600);

    const rows = await query(first.url, "select current_setting('TimeZone') as tz, current_setting('server_encoding') as enc");
    assert.equal(rows[0], { tz: "UTC", enc: "UTF8" });
    // Host connections need the password.
    const wrong = first.url.replace(/:\/\/postgres:[^@]+@/, "://postgres:wrong@");
    await query(wrong, "select 1").then(
      () => assert.unreachable("a wrong password must be refused"),
      (error) => assert.is(error.code, "28P01"),
    );

    const second = await ensureEmbedded({ dir });
    assert.equal(second, { ...first, startedNow: false });

    const status = await embeddedStatus({ dir });
    assert.equal(status, { running: true, initialised: true, port: first.port, pid: first.pid, url: first.url, dataDir: first.dataDir });

    assert.equal(await stopEmbedded({ dir }), { stopped: true, dataDir: first.dataDir });
    assert.not.ok(alive(first.pid), "server pid is gone");
    const after = await embeddedStatus({ dir });
    assert.is(after.running, false);
    assert.is(after.initialised, true);
    assert.is(after.url, undefined);

    const again = await ensureEmbedded({ dir });
    assert.is(again.startedNow, true);
    assert.is(again.port, first.port, "remembered port reused");
    assert.is(again.url, first.url, "same password");
    assert.is.not(again.pid, first.pid);
  } finally {
    await cleanup(dir);
  }
});

Embedded("two concurrent calls on a fresh folder make one server", async () => {
  const dir = freshDir();
  try {
    const [a, b] = await Promise.all([ensureEmbedded({ dir }), ensureEmbedded({ dir })]);
    assert.is(a.pid, b.pid);
    assert.is(a.port, b.port);
    assert.is(a.url, b.url);
    assert.equal([a.startedNow, b.startedNow].sort(), [false, true]);
    assert.not.ok(existsSync(path.join(dir, "lock")), "lock released");
    const rows = await query(a.url, "select 1 as one");
    assert.is(rows[0].one, 1);
  } finally {
    await cleanup(dir);
  }
});

Embedded("a stale lock left by a dead process is taken over", async () => {
  const dir = freshDir();
  try {
    await fs.mkdir(path.join(dir, "lock"), { recursive: true });
    // pid 2^22 + 1 is above Linux's pid_max limit, so it cannot be alive.
    await fs.writeFile(path.join(dir, "lock", "pid"), `${2 ** 22 + 1}\n`);
    const server = await ensureEmbedded({ dir });
    assert.is(server.startedNow, true);
  } finally {
    await cleanup(dir);
  }
});

Embedded("refuses a data folder the postgres user cannot reach, naming the folder", async () => {
  if (process.getuid?.() !== 0) return; // only root hands the server to another user
  const parent = freshDir();
  const dir = path.join(parent, "inner");
  try {
    await fs.mkdir(parent, { recursive: true, mode: 0o700 });
    await fs.chmod(parent, 0o700);
    await ensureEmbedded({ dir }).then(
      () => assert.unreachable("must refuse"),
      (error) => {
        assert.is(error.code, "config");
        assert.ok(error.message.includes(parent), error.message);
      },
    );
  } finally {
    await cleanup(parent);
  }
});

Embedded.run();
