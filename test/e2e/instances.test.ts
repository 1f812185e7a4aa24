// Instances (system containers) in a real `lodge up`, through the lodge CLI:
// launch, list, stop/start/restart, pause/resume, runStrategy after a
// killed init, SIGKILL of lodge with re-adoption, and delete leaving nothing
// on the host. Every check polls the API or the host for a mechanism, never
// a timing. Instances are deleted through the API in the end, and whatever a
// failed test left is swept by the uids this file saw.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { lodgeCli, parseTable, removeDir, shutdown, startLodge, waitFor, type Lodge } from './harness.js';
import { InstanceFixture, alive, initPid, instanceCgroups, instanceIdOf } from './instance-fixture.js';
import { RUNC_ROOT, mountsMentioning, runcState } from './pod-fixture.js';

const NODE = `lodge-inst-${process.pid}`;
const dataDir = mkdtempSync(join(tmpdir(), 'lodge-inst-'));
let lodge: Lodge | undefined;
const instances = new InstanceFixture(() => lodge);

function start(): Promise<Lodge> {
  return startLodge({ dataDir, args: ['--node-name', NODE] });
}

function cli(...args: string[]): string {
  const r = lodgeCli(lodge!, args, { timeoutMs: 180_000 });
  assert.equal(r.code, 0, `lodge ${args.join(' ')}\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`);
  return r.stdout;
}

/** Run a command in the instance (as `runc exec` does for `lodge exec`). */
function inGuest(uid: string, ...cmd: string[]): string {
  const r = spawnSync('runc', ['--root', RUNC_ROOT, 'exec', instanceIdOf(uid), ...cmd], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `runc exec ${cmd.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const phase = (p: string) => (i: any): boolean => i?.status?.phase === p;

before(async () => {
  lodge = await start();
});

after(async () => {
  try {
    if (lodge && lodge.proc.exitCode === null && lodge.proc.signalCode === null) await instances.deleteAll();
  } finally {
    await shutdown(lodge, dataDir).catch(() => undefined);
    instances.sweepHost([dataDir]);
    removeDir(dataDir);
  }
});

describe('instances: system containers', () => {
  let uid = '';

  test('lodge launch boots busybox init as PID 1 with its limits, hostname and console log', async () => {
    const out = cli('launch', 'busybox', 'bb', '--memory', '128MiB', '--cpus', '500m');
    assert.match(out, /instance.lodge.dev\/bb running on/);
    const i = await instances.get('bb');
    uid = i.metadata.uid;
    assert.equal(i.status.nodeName, NODE);
    assert.equal(i.spec.memory, '128Mi');
    assert.ok(i.status.conditions.some((c: any) => c.type === 'Ready' && c.status === 'True'));
    const table = parseTable(cli('list'));
    assert.deepEqual(table.columns, ['NAME', 'TYPE', 'STATE', 'IP', 'NODE', 'AGE']);
    const row = table.rows.find((r) => r.NAME === 'bb');
    assert.equal(row?.TYPE, 'container');
    assert.equal(row?.STATE, 'Running');
    assert.equal(row?.NODE, NODE);
    // PID 1 in the guest is init; syslogd runs as the service it respawns.
    const ps = inGuest(uid, 'ps', '-o', 'pid,args');
    assert.match(ps, /^\s*1\s+init\s*$/m, ps);
    assert.match(ps, /syslogd/, ps);
    assert.equal(inGuest(uid, 'hostname').trim(), 'bb');
    const mem = instanceCgroups(uid).map((d) => join(d, 'memory.limit_in_bytes')).find((f) => existsSync(f));
    if (mem) assert.equal(readFileSync(mem, 'utf8').trim(), String(128 * 2 ** 20));
    // Loopback only, in its own network namespace.
    assert.ok(existsSync(`/run/netns/lodge-i-${uid}`));
    // The console is a terminal: conmon logs its lines as written, with the terminal's \r.
    const log = join(dataDir, 'instances', uid, 'console.log');
    await waitFor('boot marker in the console log', async () => existsSync(log) && /stdout F lodge: booted bb\r?$/m.test(readFileSync(log, 'utf8')));
    assert.match(cli('info', 'bb'), /Type:\s+system container[\s\S]*State:\s+Running[\s\S]*Memory:\s+128Mi/);
    // lodge exec: a bare name that is no Pod is the Instance; instance/NAME says so; exit codes come back.
    assert.equal(cli('exec', 'bb', '--', 'hostname').trim(), 'bb');
    const r = lodgeCli(lodge!, ['exec', 'instance/bb', '--', 'sh', '-c', 'echo out; echo err >&2; exit 4']);
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.stdout, 'out\n');
    assert.match(r.stderr, /^err$/m);
    const none = lodgeCli(lodge!, ['exec', 'nosuch', '--', 'true']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /pods "nosuch" not found/);
  });

  test('stop halts it (process gone, disk kept); start boots it again', async () => {
    const pid = initPid(uid)!;
    inGuest(uid, 'sh', '-c', 'echo persisted > /root/marker');
    assert.match(cli('stop', 'bb'), /stopped/);
    const i = await instances.get('bb');
    assert.equal(i.spec.runStrategy, 'Halted');
    assert.equal(i.metadata.annotations['lodge.dev/lastRunStrategy'], 'Always');
    assert.equal(i.status.phase, 'Stopped');
    assert.equal(runcState(instanceIdOf(uid)), undefined);
    await waitFor('old init gone', async () => !alive(pid));
    assert.equal(parseTable(cli('list')).rows.find((r) => r.NAME === 'bb')?.STATE, 'Stopped');
    cli('start', 'bb');
    const again = await instances.get('bb');
    assert.equal(again.spec.runStrategy, 'Always');
    assert.equal(again.status.phase, 'Running');
    assert.notEqual(initPid(uid), pid);
    assert.equal(inGuest(uid, 'cat', '/root/marker').trim(), 'persisted', 'what the guest wrote survives a stop');
  });

  test('restart gives a fresh boot; pause freezes and resume thaws', async () => {
    const before = await instances.get('bb');
    const pid = initPid(uid);
    cli('restart', 'bb');
    const after = await instances.get('bb');
    assert.notEqual(after.status.startedAt, before.status.startedAt);
    assert.notEqual(initPid(uid), pid);
    cli('pause', 'bb');
    assert.equal((await instances.get('bb')).status.state, 'Paused');
    assert.equal(runcState(instanceIdOf(uid))?.status, 'paused');
    assert.equal(parseTable(cli('list')).rows.find((r) => r.NAME === 'bb')?.STATE, 'Paused');
    cli('resume', 'bb');
    assert.equal(runcState(instanceIdOf(uid))?.status, 'running');
    assert.equal((await instances.get('bb')).status.phase, 'Running');
  });

  test('first-boot configuration: hostname, a user with an SSH key, the user-data script run once', async () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@lodge';
    const scratch = mkdtempSync(join(tmpdir(), 'lodge-ci-'));
    try {
      const script = join(scratch, 'user-data');
      writeFileSync(script, '#!/bin/sh\necho ran >> /root/ran\n');
      cli('launch', 'busybox', 'ci', '--hostname', 'web1', '--user', 'alice', '--ssh-key', key, '--user-data', script);
      const ci = await instances.get('ci');
      assert.equal(ci.spec.cloudInit.users[0].name, 'alice');
      assert.equal(cli('exec', 'ci', '--', 'hostname').trim(), 'web1');
      assert.equal(cli('exec', 'ci', '--', 'cat', '/etc/hostname').trim(), 'web1');
      const passwd = cli('exec', 'ci', '--', 'grep', '^alice:', '/etc/passwd');
      assert.match(passwd, /^alice:x:(\d+):(\d+)::\/home\/alice:\/bin\/sh$/m);
      assert.equal(cli('exec', 'ci', '--', 'cat', '/home/alice/.ssh/authorized_keys'), `${key}\n`);
      assert.equal(cli('exec', 'ci', '--', 'stat', '-c', '%u %a', '/home/alice/.ssh/authorized_keys').trim(), `${/^alice:x:(\d+)/m.exec(passwd)![1]} 600`);
      await waitFor('the user-data script ran', async () => lodgeCli(lodge!, ['exec', 'ci', '--', 'cat', '/root/ran']).stdout === 'ran\n', 60_000);
      // Once per instance: a restart does not run it again.
      cli('restart', 'ci');
      await waitFor('rebooted', async () => (await instances.get('ci'))?.status?.phase === 'Running');
      assert.equal(cli('exec', 'ci', '--', 'cat', '/root/ran'), 'ran\n');
      // Bad user data is refused when the Instance is written, naming the field.
      const bad = lodgeCli(lodge!, ['launch', 'busybox', 'bad', '--user-data', join(scratch, 'nope')]);
      assert.notEqual(bad.code, 0);
      writeFileSync(join(scratch, 'plain'), 'echo not a script');
      const plain = lodgeCli(lodge!, ['launch', 'busybox', 'bad', '--user-data', join(scratch, 'plain')]);
      assert.notEqual(plain.code, 0);
      assert.match(plain.stderr, /spec\.cloudInit\.userData.*must be a script \(starting with #!\) or a #cloud-config document/);
      cli('delete', 'ci');
    } finally {
      removeDir(scratch);
    }
  });

  test('runStrategy Always restarts a killed init; Manual leaves it stopped until started', async () => {
    const pid = initPid(uid)!;
    process.kill(pid, 'SIGKILL');
    const restarted = await instances.waitFor('bb', 'restarted', (i) => phase('Running')(i) && i.status.restartCount === 1 && initPid(uid) !== undefined && initPid(uid) !== pid);
    assert.equal(restarted.status.restartCount, 1);

    cli('launch', 'busybox', 'manual', '--run-strategy', 'Manual');
    const m = await instances.get('manual');
    const mpid = initPid(m.metadata.uid)!;
    process.kill(mpid, 'SIGKILL');
    const stopped = await instances.waitFor('manual', 'stopped', phase('Stopped'));
    assert.equal(stopped.status.reason, 'Crashed');
    assert.equal(stopped.status.restartCount, 0);
    assert.equal(runcState(instanceIdOf(m.metadata.uid))?.status ?? 'stopped', 'stopped');
    cli('start', 'manual');
    assert.equal((await instances.get('manual')).spec.runStrategy, 'Manual');
    assert.ok(initPid(m.metadata.uid));
    cli('delete', 'manual');
  });

  test('SIGKILL of lodge up: the instance keeps running and is re-adopted, not duplicated', async () => {
    const pid = initPid(uid)!;
    await lodge!.kill();
    assert.ok(alive(pid), 'the init outlived lodge');
    lodge = await start();
    // The agent looks at it again (a fresh status write) without a new boot.
    await instances.waitFor('bb', 'reported Running again', phase('Running'));
    const listed = spawnSync('runc', ['--root', RUNC_ROOT, 'list', '-q'], { encoding: 'utf8' }).stdout.split('\n').filter((x) => x.includes(uid));
    assert.deepEqual(listed, [instanceIdOf(uid)]);
    assert.equal(initPid(uid), pid, 'the same init, re-adopted');
    // And it is still managed: a stop after re-adoption works.
    cli('stop', '--force', 'bb');
    await waitFor('init gone', async () => !alive(pid));
    cli('start', 'bb');
  });

  test('delete leaves no process, mount, cgroup, netns or state', async () => {
    const pid = initPid(uid)!;
    cli('delete', 'bb');
    assert.equal(await instances.get('bb'), undefined);
    assert.ok(!alive(pid));
    assert.equal(runcState(instanceIdOf(uid)), undefined);
    assert.deepEqual(mountsMentioning(uid), []);
    assert.deepEqual(instanceCgroups(uid), []);
    assert.ok(!existsSync(`/run/netns/lodge-i-${uid}`));
    assert.ok(!existsSync(join(dataDir, 'instances', uid)));
    assert.ok(!existsSync(join(dataDir, 'runtime', 'containers', instanceIdOf(uid))));
  });

  test('debian-systemd: systemd boots as PID 1, is-system-running answers, stop halts it through SIGRTMIN+3', async () => {
    // The first launch builds the image (debootstrap, cached per machine in /var/cache/lodge/debootstrap).
    assert.match(cli('launch', 'debian-systemd', 'sd', '--timeout', '10m'), /instance.lodge.dev\/sd running on/);
    const sdUid = (await instances.get('sd')).metadata.uid as string;
    const run = (...cmd: string[]) => spawnSync('runc', ['--root', RUNC_ROOT, 'exec', instanceIdOf(sdUid), ...cmd], { encoding: 'utf8', timeout: 30_000 });
    assert.match(run('cat', '/proc/1/comm').stdout, /^systemd$/m);
    // "starting" until the boot job queue is empty; degraded (a failed unit) still means booted.
    const state = await waitFor('systemd finished booting', async () => /^(running|degraded)$/m.exec(run('systemctl', 'is-system-running').stdout)?.[0], 120_000);
    assert.ok(state, run('systemctl', '--failed', '--no-pager').stdout);
    assert.equal(cli('exec', 'sd', '--', 'hostname').trim(), 'sd');
    const pid = initPid(sdUid)!;
    const log = join(dataDir, 'instances', sdUid, 'console.log');
    assert.match(cli('stop', 'sd'), /stopped/);
    assert.equal((await instances.get('sd')).status.phase, 'Stopped');
    assert.equal(runcState(instanceIdOf(sdUid)), undefined);
    await waitFor('systemd gone', async () => !alive(pid));
    // A clean shutdown, not the SIGKILL after the grace period: systemd ran its shutdown (printed on its console).
    assert.match(readFileSync(log, 'utf8'), /Halting system|Powering off/, 'systemd shut down on SIGRTMIN+3');
    cli('delete', 'sd');
    await waitFor('sd gone', async () => (await instances.get('sd')) === undefined);
    assert.deepEqual(instanceCgroups(sdUid), []);
    assert.deepEqual(mountsMentioning(sdUid), []);
  });

  test('a VM: launch boots busybox-vm under QEMU, stop powers it off through ACPI, start boots it again, delete leaves nothing', async () => {
    // Under TCG a boot takes seconds; the first launch also builds the image (the kernel .deb is cached per machine).
    const out = cli('launch', 'busybox-vm', 'vm1', '--vm', '--memory', '256MiB', '--timeout', '10m');
    assert.match(out, /instance.lodge.dev\/vm1 running on/);
    const i = await instances.get('vm1');
    const vmUid = i.metadata.uid as string;
    assert.match(i.status.accelerator ?? '', /^(tcg|kvm)$/);
    const log = join(dataDir, 'instances', vmUid, 'console.log');
    await waitFor('the guest reaches userspace', async () => existsSync(log) && readFileSync(log, 'utf8').includes('LODGE-GUEST-READY'), 180_000);
    const qemu = (): string[] => spawnSync('pgrep', ['-f', `guest=i-${vmUid}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    assert.equal(qemu().length, 1, 'one QEMU process');
    assert.match(cli('info', 'vm1'), /Type:\s+virtual machine[\s\S]*State:\s+Running/);
    const row = parseTable(cli('list')).rows.find((r) => r.NAME === 'vm1');
    assert.equal(row?.TYPE, 'vm');

    // SIGKILL of lodge up: QEMU keeps running and the new agent re-adopts it (no second QEMU, no reboot).
    const [qemuPid] = qemu();
    const readyBefore = readFileSync(log, 'utf8').split('LODGE-GUEST-READY').length;
    await lodge!.kill();
    assert.deepEqual(qemu(), [qemuPid], 'QEMU outlived lodge');
    lodge = await start();
    await waitFor('re-adopted and reported', async () => (await instances.get('vm1'))?.status?.phase === 'Running');
    assert.deepEqual(qemu(), [qemuPid], 're-adopted, not replaced');
    assert.equal(readFileSync(log, 'utf8').split('LODGE-GUEST-READY').length, readyBefore, 'no reboot');
    assert.equal(cli('exec', 'vm1', '--', 'hostname').trim(), 'vm1', 'the guest agent answers the new agent');

    // A guest kernel panic (pvpanic) is a crash: runStrategy Always boots it again.
    const restarts = Number((await instances.get('vm1')).status.restartCount ?? 0);
    lodgeCli(lodge!, ['exec', 'vm1', '--', 'sh', '-c', 'echo 1 > /proc/sys/kernel/sysrq; echo c > /proc/sysrq-trigger']);
    await waitFor('restarted after the panic', async () => Number((await instances.get('vm1'))?.status?.restartCount ?? 0) > restarts, 180_000);
    await waitFor('booted again after the panic', async () => readFileSync(log, 'utf8').split('LODGE-GUEST-READY').length > readyBefore, 180_000);

    // What the guest writes is on its disk, which outlives the QEMU process: stop/start and restart keep it.
    cli('exec', 'vm1', '--', 'sh', '-c', 'echo kept > /root/persisted; sync');
    assert.match(cli('stop', 'vm1'), /stopped/);
    assert.equal((await instances.get('vm1')).status.phase, 'Stopped');
    assert.equal(qemu().length, 0, 'QEMU ended with the guest');
    const boots = (): number => readFileSync(log, 'utf8').split('LODGE-GUEST-READY').length - 1;
    const before = boots();
    cli('start', 'vm1');
    await waitFor('booted again', async () => boots() > before, 180_000);
    await waitFor('the guest agent answers', async () => lodgeCli(lodge!, ['exec', 'vm1', '--', 'true']).code === 0, 120_000);
    assert.equal(cli('exec', 'vm1', '--', 'cat', '/root/persisted'), 'kept\n', 'the disk survived stop and start');
    cli('restart', 'vm1');
    await waitFor('the guest agent answers after restart', async () => lodgeCli(lodge!, ['exec', 'vm1', '--', 'cat', '/root/persisted']).stdout === 'kept\n', 180_000);

    cli('delete', 'vm1');
    await waitFor('vm1 gone', async () => (await instances.get('vm1')) === undefined, 120_000);
    assert.equal(qemu().length, 0);
    assert.equal(existsSync(join(dataDir, 'runtime', 'vms', `i-${vmUid}`)), false, 'state dir, overlay and sockets removed');
    assert.deepEqual(instanceCgroups(vmUid), []);
  });
});
