// ContainerDriver.exec against real runc (and util-linux script for ttys):
// output, exit codes, stdin, the container's environment, a terminal session
// with a resize, and the failures. Every container, cgroup and temp dir is
// removed in the after hook, even when a test fails.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ContainerDriver } from '../../src/agent/drivers/container/index.js';
import { cgroupDirs } from '../../src/agent/drivers/container/cgroups.js';
import { findExecutable } from '../../src/agent/drivers/container/command.js';
import { ExecFailedError, WorkloadNotFoundError, type ExecProcess, type WorkloadSpec } from '../../src/agent/runtime/driver.js';
import { createLogger } from '../../src/util/log.js';

let tmp = '';
let driver: ContainerDriver;
const cgroupParent = `/lodge-exec-test-${process.pid}`;
const created = new Set<string>();
const running: ExecProcess[] = [];

function buildBusyboxRootfs(dir: string, busybox: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync(busybox, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  execFileSync('chroot', [dir, '/bin/busybox', '--install', '-s', '/bin']);
  for (const d of ['proc', 'dev', 'sys', 'tmp', 'etc', 'work']) mkdirSync(join(dir, d), { recursive: true });
}

function spec(id: string, extra: Partial<WorkloadSpec> = {}): WorkloadSpec {
  created.add(id);
  return {
    id,
    node: 'test-node',
    rootfs: { lowerDirs: [join(tmp, 'busybox')] },
    args: ['/bin/sleep', '100000'],
    env: ['PATH=/bin', 'GREETING=hello from the container'],
    cwd: '/work',
    limits: {},
    cgroupsPath: `${cgroupParent}/${id}`,
    mounts: [],
    logPath: join(tmp, 'logs', `${id}.log`),
    ...extra,
  };
}

function collect(r: Readable | undefined): Promise<string> {
  if (!r) return Promise.resolve('');
  const parts: Buffer[] = [];
  r.on('data', (b: Buffer) => parts.push(b));
  return new Promise((resolve, reject) => {
    r.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    r.on('error', reject);
  });
}

async function exec(id: string, args: string[], input?: string): Promise<{ out: string; err: string; exitCode: number }> {
  const p = await driver.exec(id, { args, tty: false, stdin: input !== undefined });
  running.push(p);
  const [out, err] = [collect(p.stdout), collect(p.stderr)];
  if (input !== undefined) p.stdin?.end(input);
  const { exitCode } = await p.wait();
  return { out: await out, err: await err, exitCode };
}

/** Read a stream until `pattern` matches what came so far. */
function readUntil(r: Readable, pattern: RegExp): Promise<string> {
  let text = '';
  return new Promise((resolve, reject) => {
    const onData = (b: Buffer): void => {
      text += b.toString('utf8');
      if (pattern.test(text)) {
        r.off('data', onData);
        resolve(text);
      }
    };
    r.on('data', onData);
    r.on('end', () => reject(new Error(`stream ended before ${pattern}; got ${JSON.stringify(text)}`)));
  });
}

const ID = 'exec-main';

before(async () => {
  const missing: string[] = [];
  for (const bin of ['runc', 'conmon', 'busybox', 'chroot', 'script', 'stty']) if (!(await findExecutable(bin))) missing.push(bin);
  assert.deepEqual(missing, [], `missing ${missing.join(', ')}: install the Debian packages with \`node scripts/setup.mjs\``);
  assert.equal(process.getuid?.(), 0, 'the container driver tests need root (runc, mounts, cgroups)');
  tmp = mkdtempSync('/tmp/lodge-ce-');
  buildBusyboxRootfs(join(tmp, 'busybox'), (await findExecutable('busybox')) as string);
  driver = await ContainerDriver.open({ root: join(tmp, 'root'), runcRoot: join(tmp, 'runc'), logger: createLogger({ test: 'container-exec' }, 'warn') });
  await driver.create(spec(ID));
  await driver.start(ID);
});

after(async () => {
  for (const p of running) p.kill();
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

describe('exec without a tty', { timeout: 60_000 }, () => {
  test('stdout, stderr and the exit code apart', async () => {
    const r = await exec(ID, ['sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual(r, { out: 'out\n', err: 'err\n', exitCode: 3 });
  });

  test("the container's environment and working dir; a cwd of its own", async () => {
    assert.equal((await exec(ID, ['sh', '-c', 'echo "$GREETING"; pwd'])).out, 'hello from the container\n/work\n');
    const p = await driver.exec(ID, { args: ['sh', '-c', 'echo "$EXTRA"; pwd'], tty: false, env: ['EXTRA=added'], cwd: '/tmp' });
    const out = collect(p.stdout);
    assert.equal((await p.wait()).exitCode, 0);
    assert.equal(await out, 'added\n/tmp\n');
  });

  test('stdin reaches the process and its end is an EOF', async () => {
    const r = await exec(ID, ['cat'], 'line one\nline two\n');
    assert.deepEqual(r, { out: 'line one\nline two\n', err: '', exitCode: 0 });
  });

  test('no such executable: the exec fails, there is no exit code', async () => {
    const p = await driver.exec(ID, { args: ['no-such-command'], tty: false });
    await assert.rejects(p.wait(), (e: unknown) => e instanceof ExecFailedError && /no-such-command/.test(e.message));
  });

  test('kill ends a process that would run forever', async () => {
    const p = await driver.exec(ID, { args: ['sh', '-c', 'echo started; exec sleep 100000'], tty: false });
    running.push(p);
    await readUntil(p.stdout, /started/);
    p.kill();
    assert.equal((await p.wait()).exitCode, 137);
  });
});

describe('exec with a tty', { timeout: 60_000 }, () => {
  test('an interactive shell: input, output with CRLF, a resize, exit code', async () => {
    const p = await driver.exec(ID, { args: ['sh'], tty: true, stdin: true });
    running.push(p);
    assert.equal(p.stderr, undefined);
    const stdin = p.stdin;
    assert.ok(stdin);
    const all = collect(p.stdout);
    p.resize(100, 40);
    stdin.write('echo $((6*7))\n');
    await readUntil(p.stdout, /42\r\n/);
    // The resize is asynchronous (it reaches the pty through runc): ask until the shell sees it.
    let seen = '';
    for (let i = 0; i < 100 && !/40 100/.test(seen); i++) {
      stdin.write('stty size\n');
      seen = await readUntil(p.stdout, /\d+ \d+\r\n/);
    }
    assert.match(seen, /40 100/);
    stdin.write('exit 7\n');
    assert.equal((await p.wait()).exitCode, 7);
    assert.match(await all, /42\r\n/);
  });

  test('a command with a terminal: its stdout is a tty', async () => {
    const p = await driver.exec(ID, { args: ['sh', '-c', 'test -t 1 && echo "is a tty"'], tty: true });
    const out = collect(p.stdout);
    assert.equal((await p.wait()).exitCode, 0);
    assert.equal(await out, 'is a tty\r\n');
  });
});

describe('exec failures', () => {
  test('an unknown container', async () => {
    await assert.rejects(driver.exec('exec-nope', { args: ['true'], tty: false }), WorkloadNotFoundError);
  });

  test('a container that is not running', async () => {
    const id = 'exec-stopped';
    await driver.create(spec(id, { args: ['true'] }));
    await assert.rejects(driver.exec(id, { args: ['true'], tty: false }), (e: unknown) => e instanceof ExecFailedError && /created, not running/.test(e.message));
  });
});
