// The container driver against real runc and conmon: no mocks. Each test
// checks a mechanism (a log line, an exit code, a cgroup counter), never a
// timing. Every container, mount, cgroup and temp dir is removed in after
// hooks, even when a test fails.
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ContainerDriver, buildOciSpec } from '../../src/agent/drivers/container/index.js';
import { cgroupDir, cgroupDirs, hierarchies } from '../../src/agent/drivers/container/cgroups.js';
import { findExecutable } from '../../src/agent/drivers/container/command.js';
import { WorkloadExistsError, WorkloadNotFoundError, type WorkloadSpec, type WorkloadState } from '../../src/agent/runtime/driver.js';
import { createLogger } from '../../src/util/log.js';

const MiB = 1024 * 1024;
let tmp = '';
let rootfs = '';
let driver: ContainerDriver;
const cgroupParent = `/lodge-test-${process.pid}`;
const created = new Set<string>();
const children: ChildProcess[] = [];

/** A dir holding busybox-static and its applets as relative symlinks (made in a chroot, so they point at /bin/busybox). */
function buildBusyboxRootfs(dir: string, busybox: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync(busybox, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  execFileSync('chroot', [dir, '/bin/busybox', '--install', '-s', '/bin']);
  for (const d of ['proc', 'dev', 'sys', 'tmp', 'etc', 'data']) mkdirSync(join(dir, d), { recursive: true });
}

function spec(id: string, script: string, extra: Partial<WorkloadSpec> = {}): WorkloadSpec {
  created.add(id);
  return {
    id,
    node: 'test-node',
    rootfs: { lowerDirs: [rootfs] },
    args: ['/bin/sh', '-c', script],
    env: ['PATH=/bin'],
    cwd: '/',
    limits: {},
    cgroupsPath: `${cgroupParent}/${id}`,
    mounts: [],
    logPath: join(tmp, 'logs', `${id}.log`),
    ...extra,
  };
}

async function run(s: WorkloadSpec): Promise<void> {
  await driver.create(s);
  await driver.start(s.id);
}

async function waitState(id: string, pred: (s: WorkloadState) => boolean, what: string, timeoutMs = 15_000): Promise<WorkloadState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await driver.state(id);
    if (pred(s)) return s;
    if (Date.now() > deadline) throw new Error(`container ${id}: waited ${timeoutMs} ms for ${what}; last state ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const exited = (id: string): Promise<WorkloadState> => waitState(id, (s) => s.status === 'stopped' && s.exitCode !== undefined, 'exit');

/** Wait until the container has written `text` to its log (it is ready, e.g. its trap is set). */
async function waitLog(s: WorkloadSpec, text: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(existsSync(s.logPath) && readFileSync(s.logPath, 'utf8').includes(text))) {
    if (Date.now() > deadline) throw new Error(`container ${s.id}: ${JSON.stringify(text)} never appeared in ${s.logPath}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The messages of a CRI log: "<RFC3339Nano> <stream> <F|P> <message>" per line. */
function logLines(path: string): Array<{ stream: string; tag: string; msg: string }> {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(?:Z|[+-]\d\d:\d\d)) (stdout|stderr) ([FP]) (.*)$/.exec(line);
      assert.ok(m, `not a CRI log line: ${JSON.stringify(line)}`);
      return { stream: m[2], tag: m[3], msg: m[4] };
    });
}

/** Alive and not a zombie. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** pids of conmon processes monitoring `id` (there must be none after a delete or a failed create). */
function conmonsFor(id: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (argv[0]?.endsWith('conmon') && argv.includes(id) && argv.includes(join(tmp, 'root', 'containers', id))) out.push(Number(name));
  }
  return out;
}

const mountsUnder = (dir: string): string[] => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(dir));

before(async () => {
  const missing: string[] = [];
  for (const bin of ['runc', 'conmon', 'busybox', 'chroot', 'mount']) if (!(await findExecutable(bin))) missing.push(bin);
  assert.deepEqual(missing, [], `missing ${missing.join(', ')}: install the Debian packages with \`node scripts/setup.mjs\` (runc, conmon, busybox-static)`);
  assert.equal(process.getuid?.(), 0, 'the container driver tests need root (runc, mounts, cgroups)');
  tmp = mkdtempSync('/tmp/lodge-cd-');
  rootfs = join(tmp, 'busybox');
  buildBusyboxRootfs(rootfs, (await findExecutable('busybox')) as string);
  driver = await ContainerDriver.open({ root: join(tmp, 'root'), runcRoot: join(tmp, 'runc'), logger: createLogger({ test: 'container-driver' }, 'warn') });
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  const problems: string[] = [];
  for (const id of created) {
    await driver?.delete(id).catch((e: Error) => problems.push(e.message));
  }
  // Whatever a failed delete left: unmount, then the test's cgroup parent in every hierarchy.
  if (tmp) for (const line of mountsUnder(tmp)) execFileSync('umount', ['-l', line.split(' ')[4]]);
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

describe('config.json', () => {
  test('limits, namespaces, cgroupsPath and capabilities', () => {
    const base = { id: 'c', node: 'n', rootfs: { lowerDirs: ['/x'] }, args: ['/bin/true'], env: [], cwd: '', mounts: [], logPath: '/l' };
    const c = buildOciSpec({ ...base, limits: { memoryBytes: 16 * MiB, cpuMillis: 100, pids: 5 }, cgroupsPath: '/p/c', netnsPath: '/run/netns/p', mounts: [{ source: '/h', destination: '/d', readOnly: true }] }, '/p/c', { swapAccounting: true });
    assert.equal(c.linux.cgroupsPath, '/p/c');
    assert.deepEqual(c.linux.resources.memory, { limit: 16 * MiB, swap: 16 * MiB });
    assert.deepEqual(c.linux.resources.cpu, { shares: 102, quota: 10_000, period: 100_000 });
    assert.deepEqual(c.linux.resources.pids, { limit: 5 });
    assert.deepEqual(c.linux.namespaces.find((n) => n.type === 'network'), { type: 'network', path: '/run/netns/p' });
    assert.equal(c.process.cwd, '/');
    for (const set of Object.values(c.process.capabilities)) assert.ok(!set.includes('CAP_SYS_RESOURCE') && !set.includes('CAP_SYS_ADMIN'));
    assert.deepEqual(c.mounts.at(-1), { destination: '/d', type: 'bind', source: '/h', options: ['rbind', 'rprivate', 'ro'] });
    for (const dest of ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']) assert.ok(c.mounts.some((m) => m.destination === dest), dest);
    assert.ok(c.linux.maskedPaths.includes('/proc/kcore') && c.linux.readonlyPaths.includes('/proc/sys'));

    const tiny = buildOciSpec({ ...base, limits: { cpuMillis: 1, cpuRequestMillis: 1 }, cgroupsPath: '/p/c' }, '/p/c', { swapAccounting: false });
    assert.deepEqual(tiny.linux.resources.cpu, { shares: 2, quota: 1000, period: 100_000 }, 'kernel minimums');
    assert.equal(tiny.linux.resources.memory, undefined);
    assert.equal(tiny.linux.namespaces.find((n) => n.type === 'network')?.path, undefined, 'a fresh netns without a path');
  });
});

describe('container driver (runc under conmon)', () => {
  test('echo hello: CRI log line, exit code 0, times recorded', async () => {
    const s = spec('hello', 'echo hello; echo oops >&2');
    await driver.create(s);
    assert.equal((await driver.state(s.id)).status, 'created');
    await driver.start(s.id);
    const st = await exited(s.id);
    assert.equal(st.exitCode, 0);
    assert.equal(st.oomKilled, false);
    assert.ok(st.startedAt && st.finishedAt && st.startedAt <= st.finishedAt, JSON.stringify(st));
    const lines = logLines(s.logPath);
    assert.deepEqual(
      lines.map((l) => `${l.stream} ${l.tag} ${l.msg}`).sort(),
      ['stderr F oops', 'stdout F hello'],
    );
  });

  test('non-zero exit code is recorded', async () => {
    const s = spec('exit3', 'exit 3');
    await run(s);
    assert.equal((await exited(s.id)).exitCode, 3);
  });

  test('stop sends SIGTERM first; a handler runs and its exit code is kept', async () => {
    const s = spec('graceful', `trap 'echo got TERM; exit 42' TERM; echo ready; sleep 1000 & wait`);
    await run(s);
    await waitLog(s, 'ready');
    assert.equal((await driver.state(s.id)).status, 'running');
    await driver.stop(s.id, 20_000);
    const st = await driver.state(s.id);
    assert.equal(st.status, 'stopped');
    assert.equal(st.exitCode, 42, 'exit 42 comes from the TERM handler, not a SIGKILL');
    assert.ok(logLines(s.logPath).some((l) => l.msg === 'got TERM'));
    await driver.stop(s.id, 1000); // stopping a stopped container is a no-op
  });

  test('stop escalates to SIGKILL when SIGTERM is ignored; kill delivers signals', async () => {
    const s = spec('stubborn', `trap '' TERM; trap 'echo got USR1' USR1; echo ready; while true; do sleep 1; done`);
    await run(s);
    await waitLog(s, 'ready');
    await driver.kill(s.id, 'SIGUSR1');
    await waitLog(s, 'got USR1');
    await driver.stop(s.id, 300);
    const st = await driver.state(s.id);
    assert.equal(st.exitCode, 137, 'killed by SIGKILL (128 + 9)');
    await driver.kill(s.id, 'SIGTERM'); // a stopped container: no-op
  });

  test('limits land in the cgroup: memory, cpu quota/period/shares, pids', async () => {
    const s = spec('limits', 'sleep 1000', { limits: { memoryBytes: 32 * MiB, cpuMillis: 250, cpuRequestMillis: 100, pids: 17 } });
    await run(s);
    const hs = await hierarchies();
    // A controller's own v1 hierarchy (wherever it is mounted, alone or co-mounted), else the unified one.
    const read = (controller: string, v1File: string, v2File: string): string => {
      const h = hs.find((x) => x.version === 1 && x.controllers.includes(controller)) ?? hs.find((x) => x.version === 2 && x.controllers.includes(controller));
      assert.ok(h, `no hierarchy has the ${controller} controller`);
      return readFileSync(join(cgroupDir(h, s.cgroupsPath) as string, h.version === 1 ? v1File : v2File), 'utf8').trim();
    };
    assert.equal(read('memory', 'memory.limit_in_bytes', 'memory.max'), String(32 * MiB));
    assert.equal(read('pids', 'pids.max', 'pids.max'), '17');
    if (hs.some((h) => h.version === 1 && h.controllers.includes('cpu'))) {
      assert.equal(read('cpu', 'cpu.cfs_quota_us', ''), '25000');
      assert.equal(read('cpu', 'cpu.cfs_period_us', ''), '100000');
      assert.equal(read('cpu', 'cpu.shares', ''), '102');
    } else {
      assert.equal(read('cpu', '', 'cpu.max'), '25000 100000');
    }
    const stats = await driver.stats(s.id);
    assert.ok(stats.pids >= 1 && stats.memoryBytes > 0, JSON.stringify(stats));
    await driver.delete(s.id);
  });

  test('a process over its 16Mi memory limit is OOM-killed and reported', async () => {
    // The shell buffers 64 MiB of command-substitution output in its own memory.
    const s = spec('oom', `x=$(head -c ${64 * MiB} /dev/zero | tr '\\0' a); echo survived`, { limits: { memoryBytes: 16 * MiB } });
    await run(s);
    const st = await exited(s.id);
    assert.equal(st.oomKilled, true, JSON.stringify(st));
    assert.equal(st.exitCode, 137);
    assert.ok((await driver.stats(s.id)).oomKills! > 0);
    assert.ok(!logLines(s.logPath).some((l) => l.msg === 'survived'));
  });

  test('a CPU hog under a 100m limit is throttled', async () => {
    const s = spec('cpuhog', 'while :; do :; done', { limits: { cpuMillis: 100 } });
    await run(s);
    const deadline = Date.now() + 15_000;
    let stats = await driver.stats(s.id);
    while (!(stats.cpuThrottledPeriods! > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      stats = await driver.stats(s.id);
    }
    assert.ok(stats.cpuThrottledPeriods! > 0, `never throttled: ${JSON.stringify(stats)}`);
    assert.ok(stats.cpuUsageNanos > 0);
    await driver.delete(s.id);
  });

  test('joins a given network namespace and bind-mounts a host dir', async () => {
    const holder = spawn('unshare', ['--net', 'sleep', '1000'], { stdio: 'ignore' });
    children.push(holder);
    const nsPath = `/proc/${holder.pid}/ns/net`;
    const hostDir = join(tmp, 'shared');
    mkdirSync(hostDir);
    // unshare has exec'd sleep once its netns differs from ours.
    const deadline = Date.now() + 5000;
    while (readlinkSync(nsPath) === readlinkSync('/proc/self/ns/net') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const s = spec('netns', 'readlink /proc/self/ns/net; echo written > /data/out', { netnsPath: nsPath, mounts: [{ source: hostDir, destination: '/data' }], hostname: 'box' });
    await run(s);
    assert.equal((await exited(s.id)).exitCode, 0);
    assert.equal(logLines(s.logPath)[0].msg, readlinkSync(nsPath));
    assert.equal(readFileSync(join(hostDir, 'out'), 'utf8'), 'written\n');
    holder.kill('SIGKILL');
  });

  test('a failed create is undone; a duplicate create is refused', async () => {
    const bad = spec('badexec', '', { args: ['/no/such/binary'] });
    await assert.rejects(driver.create(bad), /runc create failed.*no such file/s);
    assert.ok(!existsSync(join(tmp, 'root', 'containers', bad.id)), 'state dir removed');
    assert.deepEqual(mountsUnder(join(tmp, 'root', 'containers', bad.id)), []);
    for (const dir of await cgroupDirs(bad.cgroupsPath)) assert.ok(!existsSync(dir), `${dir} left behind`);
    await assert.rejects(driver.state(bad.id), WorkloadNotFoundError);

    assert.deepEqual(conmonsFor(bad.id), [], 'no monitor left');

    const noLayer = spec('nolayer', 'true', { rootfs: { lowerDirs: [join(tmp, 'no-such-layer')] } });
    await assert.rejects(driver.create(noLayer), /no-such-layer is not readable/);
    assert.ok(!existsSync(join(tmp, 'root', 'containers', noLayer.id)));
    assert.deepEqual(conmonsFor(noLayer.id), [], 'the waiting monitor was killed');

    const s = spec('dup', 'sleep 1000');
    await driver.create(s);
    await assert.rejects(driver.create(s), WorkloadExistsError);
    // Stopping a created, never started container kills runc's waiting init; the monitor records it.
    await driver.stop(s.id, 1000);
    assert.deepEqual(await driver.state(s.id), { id: s.id, status: 'stopped', exitCode: 137, finishedAt: (await driver.state(s.id)).finishedAt, oomKilled: false });
    await driver.delete(s.id);
  });

  test('delete leaves no mount, cgroup, runc state or process; it is idempotent', async () => {
    const s = spec('cleanup', 'sleep 1000');
    await run(s);
    const st = await driver.state(s.id);
    assert.equal(st.status, 'running');
    const conmonPid = Number(readFileSync(join(tmp, 'root', 'containers', s.id, 'conmon.pid'), 'utf8'));
    const dirs = (await cgroupDirs(s.cgroupsPath)).filter((d) => existsSync(d));
    assert.ok(dirs.length > 0, 'the container has cgroups while it runs');
    assert.equal(mountsUnder(join(tmp, 'root', 'containers', s.id)).length, 1, 'its root is mounted');
    assert.ok(alive(st.pid!) && alive(conmonPid));

    await driver.delete(s.id);
    assert.deepEqual(mountsUnder(join(tmp, 'root', 'containers', s.id)), [], 'no mount left');
    assert.deepEqual(dirs.filter((d) => existsSync(d)), [], 'no cgroup dir left');
    assert.ok(!existsSync(join(tmp, 'runc', s.id)), 'no runc state left');
    assert.ok(!existsSync(join(tmp, 'root', 'containers', s.id)), 'no state dir left');
    assert.ok(!existsSync(join(tmp, 'root', 'exits', s.id)), 'no exit file left');
    assert.ok(!alive(st.pid!), 'container process gone');
    assert.ok(!alive(conmonPid), 'conmon gone');
    assert.deepEqual(conmonsFor(s.id), []);
    await assert.rejects(driver.state(s.id), WorkloadNotFoundError);
    await driver.delete(s.id);
    await driver.delete('never-existed');
    assert.ok(!(await driver.list()).some((w) => w.id === s.id));

    // A create that died before writing its record is listed as unknown, so the agent deletes it.
    mkdirSync(join(tmp, 'root', 'containers', 'stray'));
    created.add('stray');
    assert.deepEqual((await driver.list()).find((w) => w.id === 'stray'), { id: 'stray', status: 'unknown' });
    await driver.delete('stray');
    assert.ok(!existsSync(join(tmp, 'root', 'containers', 'stray')));
  });

  test('pause freezes the container and resume thaws it; a caller-owned upper layer survives delete', async () => {
    const upperDir = join(tmp, 'persist', 'upper');
    const workDir = join(tmp, 'persist', 'work');
    const s = spec('pausable', `echo kept > /data/kept; i=0; while true; do i=$((i+1)); echo $i > /tmp/n; sleep 0.05; done`, { rootfs: { lowerDirs: [rootfs], upperDir, workDir } });
    await run(s);
    await waitState(s.id, (x) => x.status === 'running', 'running');
    await driver.pause(s.id);
    const paused = await driver.state(s.id);
    assert.equal(paused.status, 'paused');
    await driver.pause(s.id); // idempotent
    const freezer = (await cgroupDirs(s.cgroupsPath)).find((d) => existsSync(join(d, 'freezer.state')));
    if (freezer) assert.equal(readFileSync(join(freezer, 'freezer.state'), 'utf8').trim(), 'FROZEN');
    await driver.resume(s.id);
    assert.equal((await driver.state(s.id)).status, 'running');
    await driver.resume(s.id); // a no-op when running
    await driver.stop(s.id, 5_000);
    await driver.delete(s.id);
    assert.equal(readFileSync(join(upperDir, 'data', 'kept'), 'utf8'), 'kept\n', 'the caller-owned upper layer outlives the workload');
  });

  test('containers outlive the process that started them and are re-adopted', async () => {
    const s = spec('adopted', `trap 'exit 7' TERM; echo ready; sleep 1000 & wait`);
    // A separate Node process creates and starts the container, then is SIGKILLed.
    const driverModule = fileURLToPath(new URL('../../src/agent/drivers/container/index.js', import.meta.url));
    const code = `
      import { ContainerDriver } from ${JSON.stringify(driverModule)};
      const d = await ContainerDriver.open({ root: ${JSON.stringify(join(tmp, 'root'))}, runcRoot: ${JSON.stringify(join(tmp, 'runc'))} });
      await d.create(${JSON.stringify(s)});
      await d.start(${JSON.stringify(s.id)});
      process.stdout.write('started\\n');
      setInterval(() => {}, 1000);
    `;
    const agent = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LODGE_LOG_LEVEL: 'warn' } });
    children.push(agent);
    let stderr = '';
    agent.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    await new Promise<void>((resolve, reject) => {
      agent.stdout.on('data', (b: Buffer) => b.toString().includes('started') && resolve());
      agent.on('exit', (c) => reject(new Error(`the starting process exited ${c} before starting: ${stderr}`)));
    });
    agent.kill('SIGKILL');
    await new Promise((r) => agent.once('exit', r));
    await waitLog(s, 'ready');

    const fresh = await ContainerDriver.open({ root: join(tmp, 'root'), runcRoot: join(tmp, 'runc'), logger: createLogger({}, 'warn') });
    const listed = (await fresh.list()).find((w) => w.id === s.id);
    assert.equal(listed?.status, 'running', `list() after the starter died: ${JSON.stringify(listed)}`);
    assert.ok(alive(listed.pid!));
    await fresh.stop(s.id, 20_000);
    assert.equal((await fresh.state(s.id)).exitCode, 7, 'the monitor recorded the exit after its starter died');
    await fresh.delete(s.id);
    assert.ok(!(await fresh.list()).some((w) => w.id === s.id));
  });
});
