// The VM driver against real QEMU (TCG on hosts where KVM does not work),
// booting the busybox-vm image built from Debian packages. Each test checks
// a mechanism (a console line, a QMP status, a pid, a file), never a timing:
// under TCG a boot takes seconds. Every QEMU is killed by pid and every
// cgroup and temp dir removed in the after hook, even when a test fails.
import { vmWorkloadSpec } from './vm-test-helpers.js';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cgroupDirs, removeCgroup } from '../../src/agent/drivers/container/cgroups.js';
import { mustRun } from '../../src/agent/drivers/container/command.js';
import { processInCgroup } from '../../src/agent/drivers/container/cgroups.js';
import { VmDriver, kernelCmdline, probeAccelerator } from '../../src/agent/drivers/vm/index.js';
import { GUEST_READY_MARKER } from '../../src/agent/images/vm/busybox-vm.js';
import { VmImages, type VmImage } from '../../src/agent/images/vm/vm-images.js';
import { ExecFailedError, WorkloadExistsError, WorkloadNotFoundError, type WorkloadSpec, type WorkloadState } from '../../src/agent/runtime/driver.js';
import { createLogger } from '../../src/util/log.js';

const MiB = 1024 * 1024;
const BOOT_MS = 180_000;
// Shared with other runs: the image is built once (kernel from Debian's package cache) and reused.
const IMAGES = process.env.LODGE_TEST_VM_IMAGES ?? '/var/tmp/lodge-test-vm-images';
const cgroupParent = `/lodge-test-vm-${process.pid}`;
// Short: the QMP and console sockets live in the state dir and a unix socket path has 107 bytes.
const tmp = mkdtempSync('/tmp/lodge-vmd-');
const root = join(tmp, 'r');
const created = new Set<string>();
let image: VmImage;
let driver: VmDriver;

function spec(id: string): WorkloadSpec {
  created.add(id);
  return vmWorkloadSpec(id, image, { cgroupParent, logDir: join(tmp, 'logs') });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitLog(s: WorkloadSpec, text: string, timeoutMs = BOOT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(existsSync(s.logPath) && readFileSync(s.logPath, 'latin1').includes(text))) {
    if (Date.now() > deadline) throw new Error(`vm ${s.id}: ${JSON.stringify(text)} never appeared in ${s.logPath}; it holds: ${existsSync(s.logPath) ? readFileSync(s.logPath, 'latin1').slice(-2000) : '(nothing)'}`);
    await sleep(100);
  }
}

const pidOf = (id: string): number | undefined => {
  const f = join(root, 'vms', id, 'pid');
  return existsSync(f) ? Number(readFileSync(f, 'utf8')) : undefined;
};

function alive(pid: number): boolean {
  // A zombie has an empty cmdline: gone for our purposes.
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').length > 0;
  } catch {
    return false;
  }
}

before(async () => {
  const images = await VmImages.open(IMAGES);
  image = await images.ensure('busybox-vm');
  driver = await VmDriver.open({ root, logger: createLogger({}, 'warn') });
});

after(async () => {
  for (const id of created) {
    const pid = pidOf(id);
    if (pid && alive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`guest=${id},`)) process.kill(pid, 'SIGKILL');
    await driver?.delete(id).catch(() => undefined);
  }
  await removeCgroup(cgroupParent).catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
});

describe('accelerator probe', () => {
  test('a /dev/kvm without vmx/svm is not enough (kvm_pvm): TCG, with the reason', async () => {
    const r = await probeAccelerator({ qemuPath: 'qemu-system-x86_64', cpuinfo: 'flags\t\t: fpu vme de pse tsc msr pae hypervisor\n', kvmDevice: '/dev/null' });
    assert.equal(r.accelerator, 'tcg');
    assert.match(r.reason, /vmx\/svm/);
    const none = await probeAccelerator({ qemuPath: 'qemu-system-x86_64', kvmDevice: join(tmp, 'no-kvm') });
    assert.equal(none.accelerator, 'tcg');
    assert.match(none.reason, /not usable/);
  });

  test('the driver reports what the probe chose', () => {
    const hasHw = /^flags\s*:.*\b(vmx|svm)\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
    if (!hasHw) assert.equal(driver.accelerator, 'tcg');
    assert.match(driver.acceleratorReason, /^(KVM|TCG):/);
  });
});

describe('kernel command line', () => {
  test('the image line, a root device only when the image names none, our console', () => {
    const vm = { kernel: 'k', cmdline: 'root=/dev/vdb rw', baseDisk: { path: 'd', format: 'qcow2' as const }, cpus: 1, memoryBytes: 256 * MiB };
    assert.equal(kernelCmdline(vm, 'quiet'), 'root=/dev/vdb rw console=ttyS0 quiet');
    assert.equal(kernelCmdline({ ...vm, cmdline: 'rw' }, ''), 'rw root=/dev/vda console=ttyS0');
  });
});

describe('VM driver', () => {
  test('create makes an overlay and a paused QEMU in its cgroup; start boots the guest to its console', async () => {
    const s = spec('vm-a');
    await driver.create(s);
    await assert.rejects(driver.create(s), WorkloadExistsError);
    const created = await driver.state(s.id);
    assert.equal(created.status, 'created');
    const pid = created.pid as number;
    assert.ok(pid > 0 && alive(pid));
    assert.ok(await processInCgroup(pid, `${cgroupParent}/${s.id}`), 'QEMU runs in its cgroup');
    // The overlay is backed by the image's disk, not a copy.
    const overlay = join(root, 'vms', s.id, 'disk.qcow2');
    const imgInfo = JSON.parse(await mustRun(['qemu-img', 'info', '-U', '--output=json', overlay])) as { 'backing-filename': string; 'backing-filename-format': string };
    assert.equal(imgInfo['backing-filename'], image.disk.path);
    assert.equal(imgInfo['backing-filename-format'], 'qcow2');
    const info = await driver.info(s.id);
    assert.equal(info.qemuStatus, 'prelaunch');
    assert.equal(info.accelerator, driver.accelerator);
    assert.ok(info.argv.includes('-daemonize'));

    await driver.start(s.id);
    await driver.start(s.id); // a no-op when it runs
    await waitLog(s, GUEST_READY_MARKER);
    const running = await driver.state(s.id);
    assert.equal(running.status, 'running');
    assert.equal(running.pid, pid);
    assert.ok(running.startedAt);
    const stats = await driver.stats(s.id);
    assert.ok(stats.memoryBytes > 0 && stats.cpuUsageNanos > 0 && stats.pids > 0, JSON.stringify(stats));
  });

  test('console: a shell on the serial port answers', async () => {
    const con = await driver.console('vm-a');
    try {
      let out = '';
      con.on('data', (b: Buffer) => (out += b.toString('latin1')));
      const deadline = Date.now() + 60_000;
      // The shell may still be starting: ask until it answers.
      while (!out.includes('console-42')) {
        if (Date.now() > deadline) throw new Error(`no answer on the console; got ${JSON.stringify(out.slice(-500))}`);
        con.write('echo console-$((6*7))\n');
        await sleep(1000);
      }
    } finally {
      con.destroy();
    }
    // The log has the session too: it records the port whether or not anyone is attached.
    assert.match(readFileSync(spec('vm-a').logPath, 'latin1'), /console-42/);
  });

  test('pause and resume through QMP', async () => {
    await driver.pause('vm-a');
    assert.equal((await driver.state('vm-a')).status, 'paused');
    assert.equal((await driver.info('vm-a')).qemuStatus, 'paused');
    await driver.pause('vm-a'); // idempotent
    await driver.start('vm-a'); // start does not resume a paused VM
    assert.equal((await driver.state('vm-a')).status, 'paused');
    await driver.resume('vm-a');
    assert.equal((await driver.state('vm-a')).status, 'running');
    await driver.resume('vm-a'); // a no-op when it runs
  });

  test('exec with a terminal: a clear error pointing at the console (exec itself: vm-guest-agent.test.ts)', async () => {
    await assert.rejects(driver.exec('vm-a', { args: ['sh'], tty: true }), (e: unknown) => e instanceof ExecFailedError && /lodge console/.test(e.message));
  });

  test('re-adoption: a new driver (after an agent SIGKILL) sees the running VM and stops it through ACPI', async () => {
    const pid = pidOf('vm-a') as number;
    const second = await VmDriver.open({ root, logger: createLogger({}, 'warn') });
    const listed = await second.list();
    const mine = listed.find((x) => x.id === 'vm-a') as WorkloadState;
    assert.equal(mine.status, 'running');
    assert.equal(mine.pid, pid);
    await second.stop('vm-a', 120_000);
    assert.equal(alive(pid), false);
    const st = await second.state('vm-a');
    assert.equal(st.status, 'stopped');
    assert.equal(st.exitCode, 0);
    assert.ok(st.finishedAt);
    const info = await second.info('vm-a');
    // The guest's init handled the power button: QEMU exited by itself (it removes its pid file only then).
    assert.match(info.exit?.reason ?? '', /ACPI/);
    assert.equal(existsSync(join(root, 'vms', 'vm-a', 'qemu.pid')), false);
    // The first driver agrees: the state is on disk, not in memory.
    assert.deepEqual(await driver.state('vm-a'), st);
    await assert.rejects(driver.start('vm-a'), /not running/);
  });

  test('delete leaves no process, file, socket or cgroup; twice is fine', async () => {
    await driver.delete('vm-a');
    await driver.delete('vm-a');
    assert.equal(existsSync(join(root, 'vms', 'vm-a')), false);
    for (const d of await cgroupDirs(`${cgroupParent}/vm-a`)) assert.equal(existsSync(d), false, `${d} removed`);
    await assert.rejects(driver.state('vm-a'), WorkloadNotFoundError);
    assert.equal((await driver.list()).some((x) => x.id === 'vm-a'), false);
  });

  test('a VM that was never started stops by quit; kill records 128+signal; delete of a running VM', async () => {
    const s = spec('vm-b');
    await driver.create(s);
    await driver.stop(s.id, 5000);
    const st = await driver.state(s.id);
    assert.equal(st.status, 'stopped');
    assert.equal(st.exitCode, 0);
    await driver.delete(s.id);

    const k = spec('vm-c');
    await driver.create(k);
    await driver.start(k.id);
    const pid = pidOf(k.id) as number;
    await driver.kill(k.id, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while (alive(pid) && Date.now() < deadline) await sleep(20);
    const killed = await driver.state(k.id);
    assert.equal(killed.status, 'stopped');
    assert.equal(killed.exitCode, 137);
    await driver.kill(k.id, 'SIGKILL'); // a no-op now
    await driver.delete(k.id);

    const d = spec('vm-d');
    await driver.create(d);
    await driver.start(d.id);
    const dpid = pidOf(d.id) as number;
    await driver.delete(d.id);
    assert.equal(alive(dpid), false);
    assert.equal(existsSync(join(root, 'vms', d.id)), false);
    for (const dir of await cgroupDirs(`${cgroupParent}/${d.id}`)) assert.equal(existsSync(dir), false, `${dir} removed`);
  });

  test('a failed create leaves nothing behind and says why', async () => {
    const s = spec('vm-bad');
    s.vm = { ...(s.vm as NonNullable<WorkloadSpec['vm']>), kernel: join(tmp, 'no-such-kernel') };
    await assert.rejects(driver.create(s), (e: unknown) => /vm-bad/.test((e as Error).message) && /no-such-kernel/.test((e as Error).message));
    assert.equal(existsSync(join(root, 'vms', 'vm-bad')), false);
    for (const d of await cgroupDirs(`${cgroupParent}/vm-bad`)) assert.equal(existsSync(d), false, `${d} removed`);
  });
});
