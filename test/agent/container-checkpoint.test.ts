// Container checkpoint/restore with CRIU against real runc and conmon: a
// busybox shell loop counts in a file of its persistent upper layer; after
// a checkpoint, delete and a create with restoreFrom, the same process (same
// pid inside the container's PID namespace) goes on counting from where it
// was. When CRIU cannot work on this host the tests fail with the reason
// criuAvailable() gives; they never skip. Every container, mount, cgroup and
// temp dir is removed in the after hook, even when a test fails.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ContainerDriver } from '../../src/agent/drivers/container/index.js';
import { cgroupDirs } from '../../src/agent/drivers/container/cgroups.js';
import { findExecutable } from '../../src/agent/drivers/container/command.js';
import type { WorkloadSpec, WorkloadState } from '../../src/agent/runtime/driver.js';
import { createLogger } from '../../src/util/log.js';

let tmp = '';
let rootfs = '';
let driver: ContainerDriver;
const cgroupParent = `/lodge-ckpt-test-${process.pid}`;
const created = new Set<string>();

function buildBusyboxRootfs(dir: string, busybox: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync(busybox, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  execFileSync('chroot', [dir, '/bin/busybox', '--install', '-s', '/bin']);
  for (const d of ['proc', 'dev', 'sys', 'tmp', 'etc', 'data']) mkdirSync(join(dir, d), { recursive: true });
}

// A counter in a background subshell (so its pid is not 1 and says something
// about the PID namespace being restored): it writes "<its pid> <token> <n>"
// to /data/count and prints "tick <n>" every 100 ms. PID 1 just waits. The
// token is drawn once, into the shell's memory: a restored process still
// has it, a process started afresh draws another. The pids it burns first
// make a fresh start unlikely to land on the same pid too.
const COUNTER = 'tok=$RANDOM; j=$((tok % 17)); while [ $j -gt 0 ]; do /bin/true; j=$((j-1)); done; read -r me _ < /proc/self/stat; i=0; while :; do i=$((i+1)); echo "$me $tok $i" > /data/count; echo "tick $i"; sleep 0.1; done';
const SCRIPT = `( ${COUNTER} ) & wait`;

/** A container whose upper layer lives outside the driver's state dir, so it survives delete (a system container's disk). */
function spec(id: string, extra: Partial<WorkloadSpec> = {}): WorkloadSpec {
  created.add(id);
  const disk = join(tmp, 'disks', id);
  return {
    id,
    node: 'test-node',
    rootfs: { lowerDirs: [rootfs], upperDir: join(disk, 'upper'), workDir: join(disk, 'work') },
    args: ['/bin/sh', '-c', SCRIPT],
    env: ['PATH=/bin'],
    cwd: '/',
    limits: {},
    cgroupsPath: `${cgroupParent}/${id}`,
    mounts: [],
    logPath: join(tmp, 'logs', `${id}.log`),
    ...extra,
  };
}

interface Counter {
  pid: number;
  token: number;
  n: number;
}

/** The counter's pid (inside the container), token and value, read from the upper layer; undefined while not yet (or half) written. */
function counter(s: WorkloadSpec): Counter | undefined {
  const path = join(s.rootfs.upperDir as string, 'data', 'count');
  if (!existsSync(path)) return undefined;
  const m = /^(\d+) (\d+) (\d+)\n$/.exec(readFileSync(path, 'utf8'));
  return m ? { pid: Number(m[1]), token: Number(m[2]), n: Number(m[3]) } : undefined;
}

async function until<T>(what: string, get: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Wait for the counter to reach n; with `floor`, every value seen on the way must be at least that (a restart from 0 would not be). */
function counterAtLeast(s: WorkloadSpec, n: number, floor?: number): Promise<Counter> {
  const seen: number[] = [];
  return until(`${s.id}'s counter to reach ${n} (last ${JSON.stringify(counter(s))})`, () => {
    const c = counter(s);
    if (c && floor !== undefined && c.n < floor) assert.fail(`${s.id}'s counter went back to ${c.n} after the restore (was ${floor}; seen ${seen.join(',')})`);
    if (c) seen.push(c.n);
    return c && c.n >= n ? c : undefined;
  });
}

/** The "tick N" numbers in the container's log, in order. */
function ticks(s: WorkloadSpec): number[] {
  if (!existsSync(s.logPath)) return [];
  return [...readFileSync(s.logPath, 'utf8').matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
}
const lastTick = (s: WorkloadSpec): number => ticks(s).at(-1) ?? 0;

/** The log counts on across the checkpoint: no tick goes back (a fresh start would print "tick 1" again). */
function assertTicksNeverGoBack(s: WorkloadSpec): void {
  const t = ticks(s);
  for (let k = 1; k < t.length; k++) assert.ok(t[k] >= t[k - 1], `tick ${t[k]} after tick ${t[k - 1]} in ${s.logPath}`);
}

async function requireCriu(): Promise<void> {
  const criu = await driver.criuAvailable();
  // Fails (never skips): a host where checkpoints cannot work must show up as a failure with its reason.
  assert.ok(criu.ok, `stateful container snapshots need CRIU: ${criu.ok ? '' : criu.reason}`);
}

async function waitState(d: ContainerDriver, id: string, pred: (s: WorkloadState) => boolean, what: string): Promise<WorkloadState> {
  let last: WorkloadState | undefined;
  return until(`${id} to be ${what} (last ${JSON.stringify(last)})`, async () => {
    last = await d.state(id);
    return pred(last) ? last : undefined;
  });
}

/** Checkpoint (the container goes away), delete the workload, create it again from the images; returns the counter at the checkpoint. */
async function checkpointAndRestore(s: WorkloadSpec, imageDir: string): Promise<Counter> {
  await driver.checkpoint(s.id, imageDir, { leaveRunning: false });
  assert.equal((await driver.state(s.id)).status, 'stopped', 'runc checkpoint without --leave-running ends the container');
  const atCheckpoint = counter(s);
  assert.ok(atCheckpoint, 'the counter had been written before the checkpoint');
  await driver.delete(s.id);
  assert.ok(existsSync(join(s.rootfs.upperDir as string, 'data', 'count')), 'delete keeps the caller-owned upper layer');
  assert.equal(counter(s)?.n, atCheckpoint.n, 'nothing counts while the container is checkpointed');

  await driver.create({ ...s, restoreFrom: imageDir });
  // CRIU's own word that it restored (conmon has runc put restore.log in the bundle).
  const restoreLog = readFileSync(join(tmp, 'root', 'containers', s.id, 'restore.log'), 'utf8');
  assert.match(restoreLog, /Restore finished successfully/);
  await driver.start(s.id);
  const st = await driver.state(s.id);
  assert.equal(st.status, 'running', `restored container state ${JSON.stringify(st)}`);
  return atCheckpoint;
}

before(async () => {
  const missing: string[] = [];
  for (const bin of ['runc', 'conmon', 'busybox', 'chroot', 'mount']) if (!(await findExecutable(bin))) missing.push(bin);
  assert.deepEqual(missing, [], `missing ${missing.join(', ')}: install the Debian packages with \`node scripts/setup.mjs\``);
  assert.equal(process.getuid?.(), 0, 'checkpoint tests need root (runc, CRIU, mounts, cgroups)');
  tmp = mkdtempSync('/tmp/lodge-ck-');
  rootfs = join(tmp, 'busybox');
  buildBusyboxRootfs(rootfs, (await findExecutable('busybox')) as string);
  driver = await ContainerDriver.open({ root: join(tmp, 'root'), runcRoot: join(tmp, 'runc'), logger: createLogger({ test: 'container-checkpoint' }, 'warn') });
});

after(async () => {
  const problems: string[] = [];
  for (const id of created) await driver?.delete(id).catch((e: Error) => problems.push(e.message));
  if (tmp) {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(tmp))) execFileSync('umount', ['-l', line.split(' ')[4]]);
  }
  for (const dir of await cgroupDirs(cgroupParent)) {
    try {
      rmdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`${dir}: ${(e as Error).message}`);
    }
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  assert.deepEqual(problems, [], 'cleanup failed');
});

describe('container checkpoint/restore (CRIU)', () => {
  test('criu check passes on this host', async () => {
    await requireCriu();
  });

  test('restore continues the same processes: counter goes on, same pid, logs and exit still recorded by conmon', async () => {
    await requireCriu();
    const s = spec('counter');
    await driver.create(s);
    await driver.start(s.id);
    const before = await counterAtLeast(s, 5);
    assert.notEqual(before.pid, 1, 'the counter is not PID 1');

    const at = await checkpointAndRestore(s, join(tmp, 'images', 'counter'));
    const resumed = await counterAtLeast(s, at.n + 5, at.n);
    assert.equal(resumed.pid, before.pid, 'the same process counts after the restore (same pid in the PID namespace)');
    assert.equal(resumed.token, before.token, "the shell's memory came back (a fresh start draws a new token)");
    await until(`the log to show ticks after the restore (last ${lastTick(s)})`, () => (lastTick(s) > at.n + 3 ? true : undefined));
    assertTicksNeverGoBack(s);

    // As after an agent SIGKILL: a new driver finds the restored container running under its conmon and can stop it; conmon records the exit.
    const fresh = await ContainerDriver.open({ root: join(tmp, 'root'), runcRoot: join(tmp, 'runc'), logger: createLogger({ test: 'container-checkpoint-readopt' }, 'warn') });
    const st = await fresh.state(s.id);
    assert.equal(st.status, 'running', `re-adopted state ${JSON.stringify(st)}`);
    await fresh.stop(s.id, 2000);
    const stopped = await waitState(fresh, s.id, (x) => x.status === 'stopped' && x.exitCode !== undefined, 'stopped with an exit code');
    assert.ok(stopped.exitCode !== undefined && stopped.exitCode > 0, `killed, not exited cleanly: ${JSON.stringify(stopped)}`);
    await fresh.delete(s.id);
  });

  test('a terminal container (a system container console) checkpoints and restores, its output still logged', async () => {
    await requireCriu();
    const s = spec('console', { terminal: true });
    await driver.create(s);
    await driver.start(s.id);
    const before = await counterAtLeast(s, 5);

    const at = await checkpointAndRestore(s, join(tmp, 'images', 'console'));
    const resumed = await counterAtLeast(s, at.n + 5, at.n);
    assert.equal(resumed.pid, before.pid, 'same process after the restore');
    assert.equal(resumed.token, before.token, "the shell's memory came back");
    await until(`the terminal's output to reach the log after the restore (last tick ${lastTick(s)})`, () => (lastTick(s) > at.n + 3 ? true : undefined));
    assertTicksNeverGoBack(s);

    // The console goes through the restored conmon's attach socket.
    const con = await driver.console(s.id);
    const seen = await new Promise<string>((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => reject(new Error(`no tick on the console within 5 s (got ${JSON.stringify(buf)})`)), 5000);
      con.on('data', (b: Buffer) => {
        buf += b.toString('utf8');
        if (/tick \d+/.test(buf)) {
          clearTimeout(timer);
          resolve(buf);
        }
      });
      con.on('error', reject);
    });
    con.destroy();
    assert.match(seen, /tick \d+/);
  });

  test('checkpoint with leaveRunning keeps the container running', async () => {
    await requireCriu();
    const s = spec('snap');
    await driver.create(s);
    await driver.start(s.id);
    const before = await counterAtLeast(s, 3);
    const imageDir = join(tmp, 'images', 'snap');
    await driver.checkpoint(s.id, imageDir, { leaveRunning: true });
    assert.ok(existsSync(join(imageDir, 'inventory.img')), 'images written');
    assert.equal((await driver.state(s.id)).status, 'running');
    const after = await counterAtLeast(s, (counter(s)?.n ?? 0) + 3, before.n);
    assert.equal(after.pid, before.pid, 'the same process goes on counting');
    assert.equal(after.token, before.token);
    assertTicksNeverGoBack(s);
  });

  test('restoring from a dir without a checkpoint fails clearly and leaves nothing behind', async () => {
    await requireCriu();
    const s = spec('nockpt');
    const empty = join(tmp, 'images', 'empty');
    mkdirSync(empty, { recursive: true });
    await assert.rejects(driver.create({ ...s, restoreFrom: empty }), /holds no CRIU checkpoint/);
    assert.ok(!existsSync(join(tmp, 'root', 'containers', s.id)), 'no state dir left');
  });
});
