// A snapshot, restore or copy cut short by SIGKILL of lodge (the agent
// with it), at the worst moments: after the work, before the outcome is
// recorded. Failpoints (LODGE_FAILPOINTS, src/util/failpoint.ts) make lodge
// kill itself exactly there. The next lodge, on the same data dir, must
// finish or roll back: the operation completes, no half-made snapshot is
// visible, no file is leaked, and the running workload is re-adopted.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { api, lodgeCli, removeDir, shutdown, startLodge, waitFor, type Lodge } from './harness.js';
import { InstanceFixture } from './instance-fixture.js';

const dataDir = mkdtempSync(join(tmpdir(), 'lodge-sc-'));
const node = `lodge-crash-${process.pid}`;
let lodge: Lodge | undefined;
const instances = new InstanceFixture(() => lodge);

after(async () => {
  try {
    if (lodge && lodge.proc.exitCode === null && lodge.proc.signalCode === null) await instances.deleteAll();
  } finally {
    await shutdown(lodge, dataDir).catch(() => undefined);
    for (const uid of instances.uids) {
      const f = join(dataDir, 'runtime', 'vms', `i-${uid}`, 'pid');
      if (!existsSync(f)) continue;
      const pid = Number(readFileSync(f, 'utf8'));
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`guest=i-${uid},`)) process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    instances.sweepHost([dataDir]);
    removeDir(dataDir);
  }
});

/** SIGTERM lodge (its workloads go on), keeping the data dir. */
async function stopLodge(): Promise<void> {
  const l = lodge;
  if (!l || l.proc.exitCode !== null || l.proc.signalCode !== null) return;
  const timer = setTimeout(() => void l.kill(), 20_000);
  await l.stop().finally(() => clearTimeout(timer));
}

async function up(failpoint?: string): Promise<Lodge> {
  lodge = await startLodge({ dataDir, args: ['--node-name', node], env: failpoint ? { LODGE_FAILPOINTS: failpoint } : {} });
  return lodge;
}

function cli(...args: string[]): string {
  const r = lodgeCli(lodge!, args, { timeoutMs: 600_000 });
  assert.equal(r.code, 0, `lodge ${args.join(' ')}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Run an operation that trips the failpoint; lodge must have killed itself there. */
async function crashOn(failpoint: string, ...args: string[]): Promise<void> {
  await up(failpoint);
  cli(...args, '--no-wait');
  const l = lodge!;
  await waitFor(`lodge killed at ${failpoint}`, async () => l.proc.signalCode === 'SIGKILL', 120_000);
  assert.match(l.logs(), new RegExp(`failpoint ${failpoint}`));
  await up();
}

/** Every file under the instance's layers/ and snapshots/ is one its storage record names: nothing leaked. */
function assertNoLeaks(uid: string): void {
  const dir = join(dataDir, 'instances', uid);
  const rec = JSON.parse(readFileSync(join(dir, 'storage.json'), 'utf8')) as {
    activeDisk?: string;
    parents?: Record<string, string | null>;
    snapshots: Record<string, { layer?: string; upper?: string }>;
    copyLayers?: string[];
    pending?: unknown;
  };
  assert.equal(rec.pending, undefined, 'no operation left pending');
  const named = new Set<string>([rec.activeDisk ?? '', ...Object.keys(rec.parents ?? {}), ...Object.values(rec.parents ?? {}).map(String), ...(rec.copyLayers ?? [])]);
  for (const s of Object.values(rec.snapshots)) named.add(s.layer ?? '');
  if (existsSync(join(dir, 'layers'))) for (const f of readdirSync(join(dir, 'layers'))) assert.ok(named.has(join(dir, 'layers', f)), `layer ${f} is leaked`);
  const snapDirs = existsSync(join(dir, 'snapshots')) ? readdirSync(join(dir, 'snapshots')) : [];
  assert.deepEqual(snapDirs.sort(), Object.keys(rec.snapshots).sort(), 'a dir per recorded snapshot, no partial ones');
  assert.equal(existsSync(join(dir, 'upper.new')) || existsSync(join(dir, 'upper.old')), false, 'no half-swapped layer');
}

async function snapshotPhase(name: string): Promise<string | undefined> {
  const r = await api(lodge!, 'GET', `/apis/lodge.dev/v1alpha1/namespaces/default/snapshots/${name}`);
  return r.status === 200 ? (r.json() as { status?: { phase?: string } }).status?.phase : undefined;
}

const read = (name: string, path: string): string => cli('exec', name, '--', 'cat', path).trim();

describe('SIGKILL in the middle of snapshot operations', () => {
  test('container: snapshot, restore and copy are finished or rolled back by the next agent', async () => {
    await up();
    cli('launch', 'busybox', 'c');
    cli('exec', 'c', '--', 'sh', '-c', 'echo one > /root/f');
    const uid = (await instances.get('c')).metadata.uid as string;
    await stopLodge();

    await crashOn('container-snapshot-copied', 'snapshot', 'create', 'c', 's1');
    await waitFor('s1 Ready after the crash', async () => (await snapshotPhase('c.s1')) === 'Ready', 120_000);
    assertNoLeaks(uid);

    cli('exec', 'c', '--', 'sh', '-c', 'echo two > /root/f');
    await stopLodge();
    await crashOn('container-restore-copied', 'snapshot', 'restore', 'c', 's1');
    await instances.waitFor('c', 'restored and running', (i) => i.status?.restore?.phase === 'Succeeded' && i.status?.phase === 'Running', 120_000);
    assert.equal(read('c', '/root/f'), 'one');
    assertNoLeaks(uid);

    await stopLodge();
    await crashOn('container-copy-built', 'copy', 'c/s1', 'c2');
    await instances.waitFor('c2', 'Running', (i) => i.status?.phase === 'Running', 120_000);
    assert.equal(read('c2', '/root/f'), 'one');
    assertNoLeaks((await instances.get('c2')).metadata.uid as string);
    for (const n of ['c2', 'c']) cli('delete', n);
    await stopLodge();
  });

  test('VM: a snapshot switched in QEMU but not recorded is kept; a restore cut short is done again; the guest is re-adopted', async () => {
    await up();
    cli('launch', 'busybox-vm', 'v', '--vm', '--memory', '256MiB', '--timeout', '10m');
    cli('exec', 'v', '--', 'sh', '-c', 'echo one > /root/f; sync');
    const uid = (await instances.get('v')).metadata.uid as string;
    const boot = cli('exec', 'v', '--', 'cat', '/proc/sys/kernel/random/boot_id').trim();
    await stopLodge();

    await crashOn('vm-snapshot-switched', 'snapshot', 'create', 'v', 's1');
    await waitFor('s1 Ready after the crash', async () => (await snapshotPhase('v.s1')) === 'Ready', 120_000);
    assert.equal(cli('exec', 'v', '--', 'cat', '/proc/sys/kernel/random/boot_id').trim(), boot, 'the same QEMU, re-adopted');
    assertNoLeaks(uid);

    cli('exec', 'v', '--', 'sh', '-c', 'echo two > /root/f; sync');
    await stopLodge();
    await crashOn('vm-restore-new-top', 'snapshot', 'restore', 'v', 's1');
    await instances.waitFor('v', 'restored and running', (i) => i.status?.restore?.phase === 'Succeeded' && i.status?.phase === 'Running', 300_000);
    assert.equal(read('v', '/root/f'), 'one');
    assertNoLeaks(uid);
    cli('delete', 'v');
    await waitFor('v gone', async () => (await instances.get('v')) === undefined, 180_000);
  });
});
