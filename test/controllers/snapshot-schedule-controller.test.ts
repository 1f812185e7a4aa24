// Scheduled snapshots and expiry against the real resource service (SQLite
// store, admission, validation: what `lodge up` runs its controllers on),
// with a fake clock and timer source so no test waits for a real minute. No
// node agent runs: only the Snapshot objects are checked. One test at the end
// checks that `lodge up` runs the controller (an expiry on the real clock).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rfc3339 } from '../../src/api/resources/clock.js';
import type { ResourceService } from '../../src/api/resources/resource-service.js';
import type { KubeObject, ResourceType } from '../../src/apis/types.js';
import { runGarbageCollector } from '../../src/controllers/garbage-collector.js';
import { controllerWrite } from '../../src/controllers/runtime/informer-factory.js';
import {
  fireTimes,
  instanceLabelValue,
  runSnapshotScheduleController,
  scheduledSnapshotName,
  type SetTimer,
} from '../../src/controllers/snapshot-schedule-controller.js';
import type { LogFields, Logger } from '../../src/util/log.js';
import { api, removeDir, startLodge } from '../e2e/harness.js';
import { ControllerEnv } from './controller-env.js';

const MIN = 60_000;
const NS = 'default';

interface LogEntry {
  level: string;
  msg: string;
  fields: LogFields;
}

/** A logger that keeps what it is told (and prints warnings when LODGE_LOG_LEVEL asks for logs). */
function captureLogger(entries: LogEntry[], base: LogFields = {}): Logger {
  const write = (level: string, msg: string, fields?: LogFields): void => {
    entries.push({ level, msg, fields: { ...base, ...fields } });
    if (process.env.LODGE_LOG_LEVEL && level !== 'info') process.stderr.write(`${JSON.stringify({ level, msg, ...base, ...fields })}\n`);
  };
  return {
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (f) => captureLogger(entries, { ...base, ...f }),
  };
}

/** Time that moves only when told; timers fire when it passes them. */
class FakeClock {
  timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  constructor(public t: number) {}
  now = (): Date => new Date(this.t);
  setTimer: SetTimer = (fn, ms) => {
    const entry = { at: this.t + ms, fn, live: true };
    this.timers.push(entry);
    return () => {
      entry.live = false;
    };
  };
  advanceTo(t: number): void {
    assert.ok(t >= this.t, 'time only moves forward');
    this.t = t;
    const due = this.timers.filter((e) => e.live && e.at <= t).sort((a, b) => a.at - b.at);
    this.timers = this.timers.filter((e) => e.live && e.at > t);
    for (const e of due) {
      e.live = false;
      e.fn();
    }
  }
  pending(): number[] {
    return this.timers.filter((e) => e.live).map((e) => e.at);
  }
}

interface Env {
  svc: ResourceService;
  instances: ResourceType;
  snapshots: ResourceType;
  logs: LogEntry[];
  startController(clock: FakeClock): { stop(): Promise<void> };
  startGarbageCollector(): { stop(): Promise<void> };
  close(): Promise<void>;
}

async function setup(): Promise<Env> {
  const logs: LogEntry[] = [];
  const cp = await ControllerEnv.open('lodge-snapsched-', captureLogger(logs));
  const { svc } = cp;
  return {
    svc,
    instances: svc.registry.resource('lodge.dev', 'v1alpha1', 'instances')!,
    snapshots: svc.registry.resource('lodge.dev', 'v1alpha1', 'snapshots')!,
    logs,
    startController: (clock) => cp.start((ctx) => runSnapshotScheduleController(ctx, { now: clock.now, setTimer: clock.setTimer })),
    startGarbageCollector: () => cp.start((ctx) => runGarbageCollector(ctx)),
    close: () => cp.close(),
  };
}

const write = controllerWrite('snapshot-schedule-test');

async function createInstance(env: Env, name: string, snapshots?: Record<string, unknown>, finalizers?: string[]): Promise<KubeObject> {
  const body = {
    apiVersion: 'lodge.dev/v1alpha1',
    kind: 'Instance',
    metadata: { name, namespace: NS, ...(finalizers ? { finalizers } : {}) },
    // The image does not exist and no agent runs: the Instance is only an object here.
    spec: { image: 'no-such-image', runStrategy: 'Halted', ...(snapshots ? { snapshots } : {}) },
  };
  return (await env.svc.create(env.instances, NS, body, write)).obj;
}

async function patch(env: Env, rt: ResourceType, name: string, p: Record<string, unknown>): Promise<void> {
  await env.svc.patch(rt, NS, name, 'merge', p, { ...write, force: false });
}

async function snapshotsOf(env: Env, instance?: string): Promise<KubeObject[]> {
  const page = await env.svc.list(env.snapshots, NS, {});
  return page.items
    .map((it) => JSON.parse(it.value) as KubeObject)
    .filter((s) => instance === undefined || (s.spec as { instanceName?: string }).instanceName === instance)
    .sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)));
}

const names = (list: KubeObject[]): string[] => list.map((s) => String(s.metadata.name));

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 5_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Give the controller (real) time to do anything it would wrongly do. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 300));

/** The first multiple of `step` strictly after `t`. */
const nextMultiple = (t: number, step: number): number => Math.floor(t / step) * step + step;

test('a schedule fires once per fire time with the right name, labels, spec and owner', async () => {
  const env = await setup();
  try {
    const clock = new FakeClock(Date.now());
    const web = await createInstance(env, 'web', { schedule: '*/10 * * * *', expiry: '3h', stateful: true });
    await createInstance(env, 'plain');
    await createInstance(env, 'nosched', { stateful: true });
    // A reversed range is refused at admission, naming the field; a date that never comes (Feb 31) is accepted but never fires: reported, not fatal.
    await assert.rejects(createInstance(env, 'backwards', { schedule: '59-1 * * * *' }), /spec\.snapshots\.schedule[\s\S]*runs backwards/);
    await createInstance(env, 'odd', { schedule: '0 0 31 2 *' });
    const ctl = env.startController(clock);

    // The latest fire time before the instance existed is not taken.
    await settle();
    assert.deepEqual(names(await snapshotsOf(env)), []);
    const f1 = nextMultiple(clock.t, 10 * MIN);
    assert.ok(clock.pending().includes(f1), 'a timer waits for the next fire time');
    assert.ok(!clock.pending().some((at) => at < f1), 'nothing polls before it');

    clock.advanceTo(f1 - 1);
    await settle();
    assert.deepEqual(names(await snapshotsOf(env)), []);

    clock.advanceTo(f1);
    const [snap] = await until('the first scheduled snapshot', async () => {
      const l = await snapshotsOf(env, 'web');
      return l.length === 1 && l;
    });
    const stamp = (t: number): string => new Date(t).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 13);
    assert.equal(snap.metadata.name, `web.auto-${stamp(f1)}`);
    assert.match(String(snap.metadata.name), /^web\.auto-\d{8}-\d{4}$/);
    assert.equal(snap.metadata.namespace, NS);
    assert.deepEqual(snap.metadata.labels, { 'lodge.dev/instance': 'web', 'lodge.dev/scheduled': 'true' });
    assert.deepEqual(snap.spec, { instanceName: 'web', stateful: true, expiresAt: rfc3339(f1 + 180 * MIN) });
    assert.deepEqual(snap.metadata.ownerReferences, [{ apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', name: 'web', uid: web.metadata.uid }]);
    const created = env.logs.find((l) => l.msg === 'scheduled snapshot created');
    assert.equal(created?.fields.controller, 'snapshot-schedule');
    assert.equal(created?.fields.snapshot, snap.metadata.name);
    assert.equal(created?.fields.instance, 'web');

    // Changes to the instance resync it; they do not take the same fire time again.
    await patch(env, env.instances, 'web', { metadata: { labels: { tier: 'front' } } });
    clock.advanceTo(f1 + 5 * MIN);
    await settle();
    assert.equal((await snapshotsOf(env, 'web')).length, 1);

    const f2 = f1 + 10 * MIN;
    clock.advanceTo(f2);
    await until('the second scheduled snapshot', async () => (await snapshotsOf(env, 'web')).length === 2);
    assert.deepEqual(names(await snapshotsOf(env, 'web')), [`web.auto-${stamp(f1)}`, `web.auto-${stamp(f2)}`]);

    // A new schedule replaces the timer: the old fire times stop, the new ones start.
    await patch(env, env.instances, 'web', { spec: { snapshots: { schedule: '5 * * * *', expiry: '3h', stateful: false } } });
    await settle();
    const f3 = f2 + 10 * MIN;
    const h5 = nextMultiple(f2 - 5 * MIN, 60 * MIN) + 5 * MIN;
    if (f3 < h5) {
      clock.advanceTo(f3);
      await settle();
      assert.equal((await snapshotsOf(env, 'web')).length, 2, 'the old schedule no longer fires');
    }
    clock.advanceTo(h5);
    await until('a snapshot on the new schedule', async () => (await snapshotsOf(env, 'web')).length === 3);
    const third = (await snapshotsOf(env, 'web')).find((s) => s.metadata.name === `web.auto-${stamp(h5)}`);
    assert.ok(third, `web.auto-${stamp(h5)} exists`);
    assert.equal((third.spec as { stateful?: boolean }).stateful, false);

    // Instances without a schedule (or with one cron-parser cannot read) have none.
    assert.deepEqual(names(await snapshotsOf(env, 'plain')), []);
    assert.deepEqual(names(await snapshotsOf(env, 'nosched')), []);
    assert.deepEqual(names(await snapshotsOf(env, 'odd')), []);
    const odd = env.logs.filter((l) => l.msg === 'snapshot schedule not understood; no scheduled snapshots');
    assert.equal(odd.length, 1, 'reported once');
    assert.equal(odd[0].fields.instance, 'odd');
    assert.deepEqual(env.logs.filter((l) => l.msg === 'snapshot schedule sync failed'), []);
    await ctl.stop();
  } finally {
    await env.close();
  }
});

test('a restart neither duplicates nor catches up more than the latest missed fire time; two controllers take it once', async () => {
  const env = await setup();
  try {
    const clock = new FakeClock(Date.now());
    await createInstance(env, 'db', { schedule: '*/10 * * * *' });
    await createInstance(env, 'short', { schedule: '*/10 * * * *', expiry: '5m' });
    const a = env.startController(clock);
    const f1 = nextMultiple(clock.t, 10 * MIN);
    await settle();
    clock.advanceTo(f1);
    await until('snapshots at the first fire time', async () => (await snapshotsOf(env)).length === 2);
    await a.stop();

    // Restarted at the same moment: the fire time is known taken.
    const b = env.startController(clock);
    await settle();
    assert.equal((await snapshotsOf(env)).length, 2);
    await b.stop();

    // Down for 55 minutes: five fire times missed, only the latest is taken.
    // short's would already have expired (f1+50m + 5m), so it is skipped, and
    // its f1 snapshot is past its expiry and goes.
    clock.advanceTo(f1 + 55 * MIN);
    const c = env.startController(clock);
    const db = await until('one catch-up snapshot', async () => {
      const l = await snapshotsOf(env, 'db');
      return l.length === 2 && l;
    });
    assert.deepEqual(
      names(db),
      [f1, f1 + 50 * MIN].map((t) => scheduledSnapshotName('db', t)),
    );
    await until('the expired snapshot of short is deleted', async () => (await snapshotsOf(env, 'short')).length === 0);
    await settle();
    assert.equal((await snapshotsOf(env, 'db')).length, 2);
    assert.equal((await snapshotsOf(env, 'short')).length, 0);

    // Two control planes at once: each fire time is taken once.
    const d = env.startController(clock);
    await settle();
    clock.advanceTo(f1 + 60 * MIN);
    await until('snapshots at the next fire time', async () => (await snapshotsOf(env, 'db')).length === 3 && (await snapshotsOf(env, 'short')).length === 1);
    await settle();
    assert.deepEqual(
      names(await snapshotsOf(env, 'db')),
      [f1, f1 + 50 * MIN, f1 + 60 * MIN].map((t) => scheduledSnapshotName('db', t)),
    );
    assert.deepEqual(names(await snapshotsOf(env, 'short')), [scheduledSnapshotName('short', f1 + 60 * MIN)]);
    assert.deepEqual(env.logs.filter((l) => l.level !== 'info'), []);
    await c.stop();
    await d.stop();
  } finally {
    await env.close();
  }
});

test('expiry deletes exactly the expired snapshots, at the moment they expire', async () => {
  const env = await setup();
  try {
    const clock = new FakeClock(Date.now());
    const base = nextMultiple(clock.t, 1000);
    const snap = async (name: string, expiresAt?: number, finalizers?: string[]): Promise<void> => {
      const body = {
        apiVersion: 'lodge.dev/v1alpha1',
        kind: 'Snapshot',
        metadata: { name, namespace: NS, ...(finalizers ? { finalizers } : {}) },
        spec: { instanceName: 'some-instance', ...(expiresAt !== undefined ? { expiresAt: rfc3339(expiresAt) } : {}) },
      };
      await env.svc.create(env.snapshots, NS, body, write);
    };
    await snap('old', base - MIN);
    await snap('soon', base + 30_000);
    await snap('held', base + 30_000, ['test.lodge.dev/hold']);
    await snap('later', base + 90_000);
    await snap('never');
    const ctl = env.startController(clock);
    await until('the already expired snapshot is deleted', async () => !names(await snapshotsOf(env)).includes('old'));
    assert.deepEqual(names(await snapshotsOf(env)), ['held', 'later', 'never', 'soon']);
    // One timer, for the earliest expiry: no polling.
    await until('the expiry timer', async () => clock.pending().includes(base + 30_000));
    assert.deepEqual(clock.pending(), [base + 30_000]);

    clock.advanceTo(base + 30_000 - 1);
    await settle();
    assert.deepEqual(names(await snapshotsOf(env)), ['held', 'later', 'never', 'soon']);

    clock.advanceTo(base + 30_000);
    await until('soon is deleted and held is being deleted', async () => {
      const l = await snapshotsOf(env);
      return !names(l).includes('soon') && Boolean(l.find((s) => s.metadata.name === 'held')?.metadata.deletionTimestamp);
    });
    const left = await snapshotsOf(env);
    assert.deepEqual(names(left), ['held', 'later', 'never']);
    assert.equal(left.find((s) => s.metadata.name === 'later')?.metadata.deletionTimestamp, undefined);
    await until('the timer for the next expiry', async () => clock.pending().join() === String(base + 90_000));

    // A finalizer (the agent's) holds a deleted snapshot; once it is removed the snapshot goes.
    await patch(env, env.snapshots, 'held', { metadata: { finalizers: null } });
    await until('held is gone', async () => !names(await snapshotsOf(env)).includes('held'));

    // A moved expiry moves the timer.
    await patch(env, env.snapshots, 'later', { spec: { expiresAt: rfc3339(base + 200_000) } });
    await until('the timer follows the new expiry', async () => clock.pending().includes(base + 200_000) && !clock.pending().includes(base + 90_000));
    clock.advanceTo(base + 90_000);
    await settle();
    assert.deepEqual(names(await snapshotsOf(env)), ['later', 'never']);
    clock.advanceTo(base + 200_000);
    await until('later is deleted', async () => !names(await snapshotsOf(env)).includes('later'));
    assert.deepEqual(names(await snapshotsOf(env)), ['never']);
    await until('no timer left', async () => clock.pending().length === 0);
    const deleted = env.logs.filter((l) => l.msg === 'expired snapshot deleted').map((l) => l.fields.snapshot);
    assert.deepEqual(deleted.sort(), ['held', 'later', 'old', 'soon']);
    await ctl.stop();
  } finally {
    await env.close();
  }
});

test('an expired snapshot that linked copies use stays until they are gone, without busy retries', async () => {
  const env = await setup();
  try {
    const clock = new FakeClock(Date.now());
    const base = nextMultiple(clock.t, 1000);
    await createInstance(env, 'origin');
    const body = {
      apiVersion: 'lodge.dev/v1alpha1',
      kind: 'Snapshot',
      metadata: { name: 'pinned', namespace: NS },
      spec: { instanceName: 'origin', expiresAt: rfc3339(base + 30_000) },
    };
    await env.svc.create(env.snapshots, NS, body, write);
    const copy = {
      apiVersion: 'lodge.dev/v1alpha1',
      kind: 'Instance',
      metadata: { name: 'copy', namespace: NS },
      spec: { image: 'no-such-image', runStrategy: 'Halted', source: { instanceName: 'origin', snapshotName: 'pinned' } },
    };
    await env.svc.create(env.instances, NS, copy, write);
    const ctl = env.startController(clock);
    await until('the expiry timer', async () => clock.pending().includes(base + 30_000));
    clock.advanceTo(base + 30_000);
    await until('the in-use report', async () => env.logs.some((l) => l.msg === 'expired snapshot is in use; deleting it once it is free'));
    await until('a slow retry timer', async () => clock.pending().join() === String(base + 90_000));
    await settle();
    assert.deepEqual(names(await snapshotsOf(env)), ['pinned']);
    assert.equal(env.logs.filter((l) => l.msg === 'expired snapshot is in use; deleting it once it is free').length, 1);
    assert.equal(env.logs.filter((l) => l.msg === 'expired snapshot is in use; deleting it once it is free')[0].fields.snapshot, 'pinned');

    await env.svc.delete(env.instances, NS, 'copy', { propagationPolicy: 'Background' });
    clock.advanceTo(base + 90_000);
    await until('pinned is deleted once free', async () => (await snapshotsOf(env)).length === 0);
    assert.deepEqual(env.logs.filter((l) => l.msg === 'snapshot schedule sync failed'), []);
    await ctl.stop();
  } finally {
    await env.close();
  }
});

test("a deleted instance's schedule stops, and one being deleted is not snapshotted", async () => {
  const env = await setup();
  try {
    const clock = new FakeClock(Date.now());
    await createInstance(env, 'gone', { schedule: '*/10 * * * *' });
    await createInstance(env, 'dying', { schedule: '*/10 * * * *' }, ['test.lodge.dev/hold']);
    await createInstance(env, 'stays', { schedule: '*/10 * * * *' });
    const ctl = env.startController(clock);
    const gc = env.startGarbageCollector();
    const f1 = nextMultiple(clock.t, 10 * MIN);
    await settle();
    clock.advanceTo(f1);
    await until('a snapshot each', async () => (await snapshotsOf(env)).length === 3);

    await env.svc.delete(env.instances, NS, 'gone', { propagationPolicy: 'Background' });
    await env.svc.delete(env.instances, NS, 'dying', { propagationPolicy: 'Background' });
    // The garbage collector follows the ownerReference.
    await until("gone's snapshot goes with it", async () => (await snapshotsOf(env, 'gone')).length === 0);
    await settle();

    clock.advanceTo(f1 + 10 * MIN);
    await until('stays still gets its snapshots', async () => (await snapshotsOf(env, 'stays')).length === 2);
    await settle();
    assert.deepEqual(names(await snapshotsOf(env, 'gone')), []);
    assert.deepEqual(names(await snapshotsOf(env, 'dying')), [scheduledSnapshotName('dying', f1)]);

    // Gone for good, its snapshot follows; recreated under the same name, it is a new instance with a schedule of its own.
    await patch(env, env.instances, 'dying', { metadata: { finalizers: null } });
    await until("dying's snapshot goes with it", async () => (await snapshotsOf(env, 'dying')).length === 0);
    await createInstance(env, 'gone', { schedule: '*/10 * * * *' });
    clock.advanceTo(f1 + 20 * MIN);
    const again = scheduledSnapshotName('gone', f1 + 20 * MIN);
    await until('the recreated instance is snapshotted again', async () => names(await snapshotsOf(env, 'gone')).includes(again));
    await gc.stop();
    await ctl.stop();
  } finally {
    await env.close();
  }
});

test('names, label values and fire times for what schedule.ts accepts', () => {
  const fire = Date.UTC(2025, 2, 10, 3, 0);
  assert.equal(scheduledSnapshotName('web', fire), 'web.auto-20250310-0300');
  const long = `${'a'.repeat(120)}.${'b'.repeat(119)}`;
  const n1 = scheduledSnapshotName(long, fire);
  const n2 = scheduledSnapshotName(`${long.slice(0, -1)}c`, fire);
  assert.ok(n1.length <= 253, n1);
  assert.match(n1, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
  assert.ok(n1.endsWith('.auto-20250310-0300'));
  assert.notEqual(n1, n2, 'a hash keeps cut names apart');
  assert.equal(scheduledSnapshotName(long, fire), n1, 'the same on every control plane');
  assert.equal(instanceLabelValue('web'), 'web');
  assert.ok(instanceLabelValue(long).length <= 63);

  const at = Date.UTC(2025, 2, 10, 10, 7, 30); // a Monday
  const iso = (t: number | undefined): string | undefined => (t === undefined ? undefined : new Date(t).toISOString());
  const cases: Array<[string, string, string]> = [
    ['0 3 * * *', '2025-03-10T03:00:00.000Z', '2025-03-11T03:00:00.000Z'],
    ['@hourly', '2025-03-10T10:00:00.000Z', '2025-03-10T11:00:00.000Z'],
    ['@midnight', '2025-03-10T00:00:00.000Z', '2025-03-11T00:00:00.000Z'],
    ['@weekly', '2025-03-09T00:00:00.000Z', '2025-03-16T00:00:00.000Z'],
    ['0 0 * * 7', '2025-03-09T00:00:00.000Z', '2025-03-16T00:00:00.000Z'],
    ['0 0 * * 0,7', '2025-03-09T00:00:00.000Z', '2025-03-16T00:00:00.000Z'],
    ['0 0 * * SUN,7', '2025-03-09T00:00:00.000Z', '2025-03-16T00:00:00.000Z'],
    ['0 12 * * mon-fri', '2025-03-07T12:00:00.000Z', '2025-03-10T12:00:00.000Z'],
    ['0 0 1 jan *', '2025-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'],
    ['*/15 * * * *', '2025-03-10T10:00:00.000Z', '2025-03-10T10:15:00.000Z'],
  ];
  for (const [schedule, latest, next] of cases) {
    const f = fireTimes(schedule);
    assert.equal(iso(f.latestAtOrBefore(at)), latest, `${schedule}: latest`);
    assert.equal(iso(f.nextAfter(at)), next, `${schedule}: next`);
  }
  // A fire time exactly now is the latest, not the next.
  const hourly = fireTimes('@hourly');
  assert.equal(iso(hourly.latestAtOrBefore(Date.UTC(2025, 2, 10, 10))), '2025-03-10T10:00:00.000Z');
  assert.equal(iso(hourly.nextAfter(Date.UTC(2025, 2, 10, 10))), '2025-03-10T11:00:00.000Z');
});

test('lodge up runs the controller: an expired snapshot is deleted', async () => {
  const lodge = await startLodge({ args: ['--no-agent'] });
  try {
    const path = `/apis/lodge.dev/v1alpha1/namespaces/${NS}/snapshots`;
    const expiresAt = rfc3339(nextMultiple(Date.now(), 1000) + 2000);
    const body = JSON.stringify({ apiVersion: 'lodge.dev/v1alpha1', kind: 'Snapshot', metadata: { name: 'brief' }, spec: { instanceName: 'nothing', expiresAt } });
    const created = await api(lodge, 'POST', path, { body, contentType: 'application/json' });
    assert.equal(created.status, 201, created.text);
    const keep = JSON.stringify({ apiVersion: 'lodge.dev/v1alpha1', kind: 'Snapshot', metadata: { name: 'kept' }, spec: { instanceName: 'nothing' } });
    assert.equal((await api(lodge, 'POST', path, { body: keep, contentType: 'application/json' })).status, 201);
    await until('the expired snapshot is deleted', async () => (await api(lodge, 'GET', `${path}/brief`)).status === 404, 15_000);
    assert.ok(Date.now() >= Date.parse(expiresAt), 'not before it expired');
    assert.equal((await api(lodge, 'GET', `${path}/kept`)).status, 200);
  } finally {
    await lodge.stop();
    removeDir(lodge.dataDir);
  }
});
