// exec in a VM through its guest agent: the QGA client against a scripted
// agent (stale replies, silence, errors), then the VM driver booting
// busybox-vm under real QEMU and running commands through qemu-ga inside it.
// Checks are on output and exit codes, never timings. Every QEMU is killed by
// pid and every cgroup and temp dir removed in the after hook.
import { pidOf as pidOfIn, qemuAliveByPid, text, vmWorkloadSpec } from './vm-test-helpers.js';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { removeCgroup } from '../../src/agent/drivers/container/cgroups.js';
import { VmDriver } from '../../src/agent/drivers/vm/index.js';
import { GuestAgentClient, GuestAgentError, GuestAgentUnavailableError, guestArgv, mergeEnv } from '../../src/agent/drivers/vm/guest-agent/index.js';
import { noCloudSeed } from '../../src/agent/first-boot/nocloud.js';
import { writeSeedDisk } from '../../src/agent/first-boot/seed-disk.js';
import { VmImages, type VmImage } from '../../src/agent/images/vm/vm-images.js';
import { ExecFailedError, type ExecProcess, type WorkloadSpec } from '../../src/agent/runtime/driver.js';
import { createLogger } from '../../src/util/log.js';

const MiB = 1024 * 1024;
const IMAGES = process.env.LODGE_TEST_VM_IMAGES ?? '/var/tmp/lodge-test-vm-images';
const cgroupParent = `/lodge-test-vmga-${process.pid}`;
// Short: sockets live in the state dir and a unix socket path has 107 bytes.
const tmp = mkdtempSync('/tmp/lodge-vmga-');
const root = join(tmp, 'r');
const created = new Set<string>();
const servers: Server[] = [];
let image: VmImage;
let driver: VmDriver;

function spec(id: string, hostname?: string): WorkloadSpec {
  created.add(id);
  return vmWorkloadSpec(id, image, { cgroupParent, logDir: join(tmp, 'logs'), hostname });
}

/** The spec with a cloud-init seed disk naming the guest: the host name's one way into a VM. */
async function withSeed(s: WorkloadSpec, hostname: string): Promise<WorkloadSpec> {
  const path = join(tmp, `${s.id}-cidata.iso`);
  await writeSeedDisk(noCloudSeed({ apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name: s.id, uid: `uid-${s.id}` }, spec: { type: 'vm', cloudInit: { hostname } } }), path);
  return { ...s, hostname, vm: { ...s.vm!, seed: { path, format: 'raw' } } };
}

const pidOf = (id: string): number | undefined => pidOfIn(root, id);

/** Run to the end: stdout, stderr and the exit code. */
async function run(p: ExecProcess): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const [stdout, stderr, { exitCode }] = await Promise.all([text(p.stdout), text(p.stderr), p.wait()]);
  return { stdout, stderr, exitCode };
}

/** A fake guest agent on a unix socket: `onLine` answers each line it receives (the leading 0xFF removed). */
function fakeAgent(name: string, onLine: (sock: Socket, msg: { execute: string; arguments?: Record<string, unknown> }) => void): Promise<string> {
  const path = join(tmp, name);
  const srv = createServer((sock) => {
    let buf = '';
    sock.on('data', (b: Buffer) => {
      buf += b.toString('latin1').replace(/\xff/g, '');
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) onLine(sock, JSON.parse(line) as { execute: string; arguments?: Record<string, unknown> });
      }
    });
    sock.on('error', () => undefined);
  });
  servers.push(srv);
  return new Promise((resolve) => srv.listen(path, () => resolve(path)));
}

before(async () => {
  const images = await VmImages.open(IMAGES);
  image = await images.ensure('busybox-vm');
  driver = await VmDriver.open({ root, logger: createLogger({}, 'warn') });
});

after(async () => {
  for (const s of servers) s.close();
  for (const id of created) {
    const pid = pidOf(id);
    if (pid && qemuAliveByPid(id, pid)) process.kill(pid, 'SIGKILL');
    await driver?.delete(id).catch(() => undefined);
  }
  await removeCgroup(cgroupParent).catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
});

describe('guest agent client (QGA protocol)', () => {
  test('sync skips stale replies and answers to older syncs; commands get their replies in order; errors are typed', async () => {
    let syncs = 0;
    const path = await fakeAgent('ga-1', (sock, msg) => {
      if (msg.execute === 'guest-sync-delimited') {
        syncs++;
        // What a previous client left unread, then a reply to a sync that is not ours, then ours.
        sock.write(Buffer.concat([Buffer.from('{"return": {"pid": 99}}\n'), Buffer.from([0xff]), Buffer.from('{"return": 12345}\n'), Buffer.from([0xff]), Buffer.from(`{"return": ${JSON.stringify(msg.arguments?.id)}}\n`)]));
      } else if (msg.execute === 'guest-info') sock.write('{"return": {"version": "7.2.22"}}\n');
      else sock.write(`{"error": {"class": "CommandNotFound", "desc": "The command ${msg.execute} has not been found"}}\n`);
    });
    const c = await GuestAgentClient.connect(path, { timeoutMs: 5000 });
    try {
      assert.equal(syncs, 1);
      const [info, err] = await Promise.allSettled([c.execute<{ version: string }>('guest-info'), c.execute('guest-nope')]);
      assert.deepEqual(info, { status: 'fulfilled', value: { version: '7.2.22' } });
      assert.ok(err.status === 'rejected' && err.reason instanceof GuestAgentError && err.reason.errorClass === 'CommandNotFound', String(err.status === 'rejected' && err.reason));
    } finally {
      c.close();
    }
  });

  test('an agent that starts late is reached by a repeated sync; one that never answers ends in GuestAgentUnavailableError', async () => {
    let seen = 0;
    const late = await fakeAgent('ga-2', (sock, msg) => {
      // Silent for the first two syncs, as a guest still booting is.
      if (msg.execute === 'guest-sync-delimited' && ++seen >= 3) sock.write(Buffer.concat([Buffer.from([0xff]), Buffer.from(`{"return": ${JSON.stringify(msg.arguments?.id)}}\n`)]));
    });
    const c = await GuestAgentClient.connect(late, { timeoutMs: 10_000, resyncMs: 50 });
    c.close();
    assert.ok(seen >= 3);
    const silent = await fakeAgent('ga-3', () => undefined);
    await assert.rejects(GuestAgentClient.connect(silent, { timeoutMs: 300, resyncMs: 50 }), (e: unknown) => e instanceof GuestAgentUnavailableError && /not answering/.test((e as Error).message));
  });

  test('argv for a working directory, and the environment merged by name', () => {
    assert.deepEqual(guestArgv(['ls'], '/'), ['ls']);
    assert.deepEqual(guestArgv(['ls', '-l'], '/tmp').slice(-3), ['/tmp', 'ls', '-l']);
    assert.deepEqual(mergeEnv(['PATH=/bin', 'HOME=/root'], ['HOME=/home/x', 'A=1']), ['PATH=/bin', 'HOME=/home/x', 'A=1']);
  });
});

describe('exec in a VM through qemu-ga', () => {
  test('a guest that has not booted: exec waits a bounded time, then says the agent is not answering', async () => {
    const s = spec('ga-cold');
    await driver.create(s); // created paused: no guest runs, so nothing answers
    const impatient = await VmDriver.open({ root, logger: createLogger({}, 'warn'), accelerator: driver.accelerator, guestAgentTimeoutMs: 1500 });
    await assert.rejects(impatient.exec(s.id, { args: ['true'], tty: false }), (e: unknown) => e instanceof ExecFailedError && /guest agent is not answering \(is the guest booted\?\)/.test(e.message));
    await driver.delete(s.id);
  });

  test('uname -r, exit codes with stderr apart, stdin, cwd, env, hostname, concurrency, a missing command, kill', async () => {
    const s = await withSeed(spec('ga-vm'), 'guest-one');
    await driver.create(s);
    await driver.start(s.id);
    // The first exec also waits for the guest to boot and its agent to start.
    const uname = await run(await driver.exec(s.id, { args: ['uname', '-r'], tty: false }));
    assert.deepEqual(uname, { stdout: `${image.kernelRelease}\n`, stderr: '', exitCode: 0 });

    assert.deepEqual(await run(await driver.exec(s.id, { args: ['sh', '-c', 'echo out; echo err >&2; exit 3'], tty: false })), { stdout: 'out\n', stderr: 'err\n', exitCode: 3 });

    const cat = await driver.exec(s.id, { args: ['cat'], tty: false, stdin: true });
    assert.ok(cat.stdin);
    cat.stdin.write('hello ');
    cat.stdin.end('guest\n');
    assert.deepEqual(await run(cat), { stdout: 'hello guest\n', stderr: '', exitCode: 0 });

    // Without stdin the command reads /dev/null, not a stream that never ends.
    assert.equal((await run(await driver.exec(s.id, { args: ['cat'], tty: false }))).exitCode, 0);

    const where = await run(await driver.exec(s.id, { args: ['sh', '-c', 'pwd; echo "$GREETING"'], tty: false, cwd: '/etc', env: ['GREETING=hi'] }));
    assert.deepEqual(where, { stdout: '/etc\nhi\n', stderr: '', exitCode: 0 });

    assert.equal((await run(await driver.exec(s.id, { args: ['hostname'], tty: false }))).stdout, 'guest-one\n');

    // Two at once share the one connection QEMU allows.
    const both = await Promise.all([1, 2].map(async (n) => run(await driver.exec(s.id, { args: ['sh', '-c', `sleep 1; echo ${n}`], tty: false }))));
    assert.deepEqual(both.map((r) => r.stdout), ['1\n', '2\n']);

    const missing = await driver.exec(s.id, { args: ['no-such-command'], tty: false });
    await assert.rejects(missing.wait(), (e: unknown) => e instanceof ExecFailedError && /no-such-command/.test(e.message));

    const sleeper = await driver.exec(s.id, { args: ['sleep', '600'], tty: false });
    sleeper.kill();
    assert.equal((await run(sleeper)).exitCode, 137);

    // A paused guest cannot answer: said so, without waiting for ever.
    await driver.pause(s.id);
    const impatient = await VmDriver.open({ root, logger: createLogger({}, 'warn'), accelerator: driver.accelerator, guestAgentTimeoutMs: 1500 });
    await assert.rejects(impatient.exec(s.id, { args: ['true'], tty: false }), (e: unknown) => e instanceof ExecFailedError && /paused/.test(e.message));
    await driver.resume(s.id);
    assert.equal((await run(await driver.exec(s.id, { args: ['true'], tty: false }))).exitCode, 0);

    const pid = pidOf(s.id) as number;
    await driver.delete(s.id);
    assert.equal(qemuAliveByPid(s.id, pid), false);
  });
});
