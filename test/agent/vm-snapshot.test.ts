// The VM driver's snapshot primitives against real QEMU (TCG here) booting
// busybox-vm: an external disk snapshot of a running guest (with its
// filesystems frozen through qemu-ga), memory+device state saved to a file
// and resumed in a new QEMU, and block-stream to drop layers of a running
// chain. Checks are on files, chains and what the guest reports; timings are
// printed, never asserted. Every QEMU is killed by pid and every cgroup and
// temp dir removed in the after hook, even when a test fails.
import { pidOf as pidOfIn, qemuAliveByPid, text, vmWorkloadSpec } from './vm-test-helpers.js';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { removeCgroup } from '../../src/agent/drivers/container/cgroups.js';
import { mustRun } from '../../src/agent/drivers/container/command.js';
import { VmDriver } from '../../src/agent/drivers/vm/index.js';
import { VmImages, type VmImage } from '../../src/agent/images/vm/vm-images.js';
import type { VmSpec, WorkloadSpec } from '../../src/agent/runtime/driver.js';
import { createLogger } from '../../src/util/log.js';

const MiB = 1024 * 1024;
const IMAGES = process.env.LODGE_TEST_VM_IMAGES ?? '/var/tmp/lodge-test-vm-images';
const cgroupParent = `/lodge-test-vmsnap-${process.pid}`;
// Short: sockets live in the state dir and a unix socket path has 107 bytes.
const tmp = mkdtempSync('/tmp/lodge-vms-');
const root = join(tmp, 'r');
const created = new Set<string>();
let image: VmImage;
let driver: VmDriver;

function spec(id: string, vm: Partial<VmSpec> = {}): WorkloadSpec {
  created.add(id);
  return vmWorkloadSpec(id, image, { cgroupParent, logDir: join(tmp, 'logs'), vm: { persistentDisk: join(tmp, `${id}-disk.qcow2`), ...vm } });
}

const pidOf = (id: string): number | undefined => pidOfIn(root, id);

/** A shell command in the guest through its agent; its stdout, or an error carrying stderr and the exit code. */
async function sh(id: string, cmd: string): Promise<string> {
  const p = await driver.exec(id, { args: ['/bin/sh', '-c', cmd], tty: false });
  const [stdout, stderr, { exitCode }] = await Promise.all([text(p.stdout), text(p.stderr), p.wait()]);
  if (exitCode !== 0) throw new Error(`in ${id}: ${cmd}: exit ${exitCode}: ${stderr}`);
  return stdout;
}

interface ImgInfo {
  filename: string;
  'backing-filename'?: string;
  'full-backing-filename'?: string;
}

/** qemu-img info of the chain from `file` down; -U because QEMU holds the files. */
async function chainOnDisk(file: string): Promise<ImgInfo[]> {
  return JSON.parse(await mustRun(['qemu-img', 'info', '-U', '--backing-chain', '--output=json', file])) as ImgInfo[];
}

/** Extents of `file` itself (depth 0) that hold data. */
async function ownData(file: string): Promise<number> {
  const map = JSON.parse(await mustRun(['qemu-img', 'map', '-U', '--output=json', file])) as Array<{ depth: number; data: boolean; length: number }>;
  return map.filter((e) => e.depth === 0 && e.data).reduce((n, e) => n + e.length, 0);
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

async function boot(s: WorkloadSpec): Promise<void> {
  await driver.create(s);
  await driver.start(s.id);
  // The first exec waits for the guest agent, i.e. for the boot.
  await sh(s.id, 'true');
}

before(async () => {
  const images = await VmImages.open(IMAGES);
  image = await images.ensure('busybox-vm');
  driver = await VmDriver.open({ root, logger: createLogger({}, 'warn') });
});

after(async () => {
  for (const id of created) {
    const pid = pidOf(id);
    if (pid && qemuAliveByPid(id, pid)) process.kill(pid, 'SIGKILL');
    await driver?.delete(id).catch(() => undefined);
  }
  await removeCgroup(cgroupParent).catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
});

describe('vm driver snapshots (real QEMU)', () => {
  test('snapshotDisk: the running guest switches to a new top, frozen through its agent; later writes go to the new top only', async () => {
    const s = spec('snap1');
    const disk = s.vm!.persistentDisk!;
    await boot(s);
    await sh(s.id, 'echo before > /root/before && sync');
    assert.deepEqual(await driver.diskChain(s.id), [disk, image.disk.path]);

    const top = join(tmp, 'snap1-top.qcow2');
    const t0 = performance.now();
    const r = await driver.snapshotDisk(s.id, top);
    console.log(`# snapshotDisk with fsfreeze: ${Math.round(performance.now() - t0)} ms`);
    assert.deepEqual(r, { frozen: true });
    assert.equal((await driver.state(s.id)).status, 'running');
    assert.deepEqual(await driver.diskChain(s.id), [top, disk, image.disk.path]);
    const onDisk = await chainOnDisk(top);
    assert.equal(onDisk[0]['full-backing-filename'], disk);
    assert.deepEqual(onDisk.map((i) => i.filename), [top, disk, image.disk.path]);

    // The guest runs on (and is thawed: writes complete), and what it writes now lands in the new top, never in the old one.
    const oldHash = sha256(disk);
    const topBefore = await ownData(top);
    await sh(s.id, 'dd if=/dev/urandom of=/root/after bs=64k count=16 2>/dev/null && sync');
    assert.equal(await sh(s.id, 'cat /root/before'), 'before\n');
    assert.equal(sha256(disk), oldHash, 'the old top changed after the snapshot');
    assert.ok((await ownData(top)) >= topBefore + 1024 * 1024, 'the guest\'s new data is not in the new top');

    // A snapshot of the snapshot: the chain grows by one and the refused cases say why.
    await assert.rejects(driver.snapshotDisk(s.id, top), /already exists/);
    const r2 = await driver.snapshotDisk(s.id, join(tmp, 'snap1-top2.qcow2'), { freeze: false });
    assert.deepEqual(r2, { frozen: false });
    assert.equal((await driver.diskChain(s.id)).length, 4);
    assert.equal(await sh(s.id, 'cat /root/before'), 'before\n');
    await driver.delete(s.id);
  });

  test('saveState + incomingState: a new QEMU on an overlay of the snapshot layer resumes the guest where it was saved', async () => {
    const s = spec('save1');
    const disk = s.vm!.persistentDisk!;
    await boot(s);
    // Detached from the exec's output pipes: qemu-ga reports an exec finished only once they close.
    await sh(s.id, "sh -c 'i=0; while true; do i=$((i+1)); echo $i > /tmp/c; sleep 0.2; done' </dev/null >/dev/null 2>&1 &");
    let before = 0;
    for (let n = 0; before < 3 && n < 200; n++) before = Number((await sh(s.id, 'cat /tmp/c 2>/dev/null || echo 0')).trim());
    assert.ok(before >= 3, `the counter never ran (${before})`);

    const state = join(tmp, 'save1.state');
    const top = join(tmp, 'save1-top.qcow2');
    let snapMs = 0;
    const saved = await driver.saveState(s.id, state, {
      beforeSave: async () => {
        const t = performance.now();
        await driver.snapshotDisk(s.id, top, { freeze: false });
        snapMs = Math.round(performance.now() - t);
      },
    });
    console.log(`# saveState (256 MiB guest): ${saved.ms} ms with vCPUs stopped (disk snapshot inside: ${snapMs} ms), ${(saved.bytes / MiB).toFixed(1)} MiB written`);
    assert.ok(saved.bytes > MiB, `state file is ${saved.bytes} bytes`);
    // The guest ran on after the save, on the new top.
    assert.equal((await driver.state(s.id)).status, 'running');
    assert.deepEqual(await driver.diskChain(s.id), [top, disk, image.disk.path]);
    const savedValue = Number((await sh(s.id, 'cat /tmp/c')).trim());
    assert.ok(savedValue >= before);
    await driver.delete(s.id);

    // A new VM: the same devices, a new overlay on the snapshot layer (the disk as it was when the vCPUs stopped), and the state file.
    const r = spec('rest1', { baseDisk: { path: disk, format: 'qcow2' }, incomingState: state });
    const t0 = performance.now();
    await driver.create(r);
    const tCreated = performance.now();
    assert.equal((await driver.state(r.id)).status, 'created');
    await driver.start(r.id);
    const tStarted = performance.now();
    console.log(`# restore: create ${Math.round(tCreated - t0)} ms, start (load + cont) ${Math.round(tStarted - tCreated)} ms`);
    assert.equal((await driver.state(r.id)).status, 'running');
    assert.ok((await driver.state(r.id)).startedAt);
    // A fresh boot would have no /tmp/c and no counter: the guest went on from where it was.
    const c1 = Number((await sh(r.id, 'cat /tmp/c')).trim());
    assert.ok(c1 >= before, `counter after restore ${c1} < ${before} before the save`);
    await new Promise((res) => setTimeout(res, 1500));
    const c2 = Number((await sh(r.id, 'cat /tmp/c')).trim());
    assert.ok(c2 > c1, `the counter loop is not running after the restore (${c1} then ${c2})`);
    assert.deepEqual(await driver.diskChain(r.id), [r.vm!.persistentDisk!, disk, image.disk.path]);
    await driver.delete(r.id);
  });

  test('incomingState that is not a state file fails create; a corrupt one fails start with QEMU\'s reason', async () => {
    const notState = join(tmp, 'not-a-state');
    writeFileSync(notState, 'hello');
    await assert.rejects(driver.create(spec('bad1', { incomingState: notState })), /not a QEMU migration stream/);
    await assert.rejects(driver.create(spec('bad2', { incomingState: join(tmp, 'missing') })), /ENOENT/);
    const corrupt = join(tmp, 'corrupt.state');
    // The header QEMU checks first, then a section type it does not know.
    writeFileSync(corrupt, Buffer.concat([Buffer.from([0x51, 0x45, 0x56, 0x4d, 0, 0, 0, 3]), Buffer.alloc(64, 0x42)]));
    const b = spec('bad3', { incomingState: corrupt });
    await driver.create(b);
    await assert.rejects(driver.start(b.id), (e: Error) => {
      assert.match(e.message, /start vm bad3: load state from .*corrupt\.state/);
      assert.match(e.message, /QEMU says: .*(migration|section|load)/i);
      return true;
    });
    await driver.delete(b.id);
  });

  test('streamDisk: a middle layer is dropped with base, and the whole chain with null, while the guest runs', async () => {
    const s = spec('strm1');
    const disk = s.vm!.persistentDisk!;
    await boot(s);
    await sh(s.id, 'echo one > /root/one && sync');
    const t1 = join(tmp, 'strm1-t1.qcow2');
    const t2 = join(tmp, 'strm1-t2.qcow2');
    await driver.snapshotDisk(s.id, t1);
    await sh(s.id, 'echo two > /root/two && sync');
    await driver.snapshotDisk(s.id, t2);
    assert.deepEqual(await driver.diskChain(s.id), [t2, t1, disk, image.disk.path]);

    // Deleting the snapshot layer t1: its data goes into t2, which then backs onto disk.
    let t = performance.now();
    await driver.streamDisk(s.id, disk);
    console.log(`# streamDisk base=middle: ${Math.round(performance.now() - t)} ms`);
    assert.deepEqual(await driver.diskChain(s.id), [t2, disk, image.disk.path]);
    assert.equal((await chainOnDisk(t2))[0]['full-backing-filename'], disk);
    await assert.rejects(driver.streamDisk(s.id, t1), /not below the top/);

    // Flatten: t2 needs no other file.
    t = performance.now();
    await driver.streamDisk(s.id, null);
    console.log(`# streamDisk base=null (flatten, image ${(readFileSync(image.disk.path).length / MiB).toFixed(1)} MiB): ${Math.round(performance.now() - t)} ms`);
    assert.deepEqual(await driver.diskChain(s.id), [t2]);
    const info = await chainOnDisk(t2);
    assert.equal(info.length, 1);
    assert.equal(info[0]['backing-filename'], undefined);
    assert.equal(await sh(s.id, 'cat /root/one /root/two && sync && echo three > /root/three && cat /root/three'), 'one\ntwo\nthree\n');
    await driver.delete(s.id);
  });
});
