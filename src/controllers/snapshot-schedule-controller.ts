// Scheduled snapshots with expiry, as Incus has them (snapshots.schedule,
// snapshots.expiry). This controller only manages Snapshot objects; the node
// agent takes the snapshots they ask for.
// - An Instance with spec.snapshots.schedule gets a Snapshot at each fire time
//   (UTC), named after the instance and that time, so a second control plane
//   or a restart meets a 409 instead of taking it twice. After downtime only
//   the latest missed fire time is taken. What was taken last is read from the
//   existing scheduled Snapshots: the controller keeps no state and writes
//   nothing to the Instance (its status belongs to the agent).
// - Any Snapshot whose spec.expiresAt has passed is deleted. One timer, armed
//   for the earliest expiry in the informer cache, instead of polling.
import { createHash } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';
import { parseDuration } from '../apis/lodge/v1alpha1/schedule.js';
import type { KubeObject, ResourceType } from '../apis/types.js';
import { rfc3339 } from '../api/resources/clock.js';
import { controllerWrite, type ControllerContext } from './runtime/informer-factory.js';
import { cacheKey } from './runtime/informer.js';
import { WorkQueue } from './runtime/workqueue.js';

const MANAGER = 'snapshot-schedule-controller';
export const INSTANCE_LABEL = 'lodge.dev/instance';
export const SCHEDULED_LABEL = 'lodge.dev/scheduled';
/** The fire time a scheduled Snapshot stands for (RFC 3339), so the name need not be parsed. */
export const SCHEDULED_TIME_ANNOTATION = 'lodge.dev/scheduled-time';
const INSTANCE_API_VERSION = 'lodge.dev/v1alpha1';
const EXPIRY_KEY = 'expiry';
const INSTANCE_KEY = 'instance:';
/** setTimeout's longest delay; a later deadline is reached in several hops. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How often an expired snapshot that is in use (by linked copies) is tried again. */
const IN_USE_RETRY_MS = 60_000;
const MAX_NAME = 253;
const MAX_LABEL_VALUE = 63;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Calls `fn` after `ms` milliseconds of the controller's clock; returns how to cancel it. */
export type SetTimer = (fn: () => void, ms: number) => () => void;

export interface SnapshotScheduleOptions {
  /** The clock fire times and expiries are compared with (default: the system clock). */
  now?: () => Date;
  /** The timer source for the next fire time and the next expiry (default: unref'd setTimeout). */
  setTimer?: SetTimer;
}

interface SnapshotPolicy {
  schedule?: string;
  expiry?: string;
  stateful?: boolean;
}

const realTimer: SetTimer = (fn, ms) => {
  const t = setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS));
  t.unref();
  return () => clearTimeout(t);
};

const policyOf = (o: KubeObject): SnapshotPolicy | undefined => (o.spec as { snapshots?: SnapshotPolicy } | undefined)?.snapshots;
const expiresAtOf = (o: KubeObject): number | undefined => {
  const v = (o.spec as { expiresAt?: unknown } | undefined)?.expiresAt;
  if (typeof v !== 'string') return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : ms;
};
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const codeOf = (e: unknown): number | undefined => (e as { code?: unknown } | null)?.code as number | undefined;
const shortHash = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 8);
/** Cut to `max` characters, then drop what may not end a DNS name. */
const cut = (s: string, max: number): string => s.slice(0, max).replace(/[^a-z0-9]+$/, '');

/** "20250310-0300" for 2025-03-10T03:00Z. */
function stamp(fireMs: number): string {
  const iso = new Date(fireMs).toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}`;
}

/**
 * `<instance>.auto-<YYYYMMDD-HHMM>` (UTC). When that is too long, the instance
 * name is cut and a hash of it added, so the name stays unique and the same
 * on every control plane.
 */
export function scheduledSnapshotName(instance: string, fireMs: number): string {
  const suffix = `.auto-${stamp(fireMs)}`;
  const plain = `${instance}${suffix}`;
  if (plain.length <= MAX_NAME && DNS1123_SUBDOMAIN.test(plain)) return plain;
  const hash = shortHash(instance);
  const head = cut(instance.toLowerCase().replace(/[^a-z0-9.-]/g, '-'), MAX_NAME - suffix.length - hash.length - 1);
  const name = head ? `${head}-${hash}${suffix}` : `${hash}${suffix}`;
  if (!DNS1123_SUBDOMAIN.test(name)) throw new Error(`cannot make a valid snapshot name for instance ${JSON.stringify(instance)}`);
  return name;
}

/** The instance name as a label value: at most 63 characters (longer names are cut and hashed). */
export function instanceLabelValue(instance: string): string {
  if (instance.length <= MAX_LABEL_VALUE) return instance;
  const hash = shortHash(instance);
  return `${cut(instance, MAX_LABEL_VALUE - hash.length - 1)}-${hash}`;
}

/** What cron-parser reads: it lacks @midnight and rejects a value listed twice (0,7 are both Sunday), which schedule.ts allows. */
function forCronParser(schedule: string): string {
  const e = schedule.trim();
  if (e === '@midnight') return '@daily';
  if (e.startsWith('@')) return e;
  const days: Record<string, string> = { sun: '0', '7': '0', mon: '1', tue: '2', wed: '3', thu: '4', fri: '5', sat: '6' };
  return e
    .split(/\s+/)
    .map((field, i) => {
      const seen = new Set<string>();
      return field
        .split(',')
        .filter((part) => {
          const canon = i === 4 ? (days[part.toLowerCase()] ?? part) : part.toLowerCase();
          if (seen.has(canon)) return false;
          seen.add(canon);
          return true;
        })
        .join(',');
    })
    .join(' ');
}

export interface FireTimes {
  /** The latest fire time at or before `ms`. */
  latestAtOrBefore(ms: number): number | undefined;
  /** The first fire time after `ms`. */
  nextAfter(ms: number): number | undefined;
}

/** Fire times of a schedule in a time zone (UTC unless a CronJob names one); throws when cron-parser cannot read it. */
export function fireTimes(schedule: string, tz = 'UTC'): FireTimes {
  const expr = forCronParser(schedule);
  const at = (ms: number) => CronExpressionParser.parse(expr, { currentDate: new Date(ms), tz });
  at(0);
  const attempt = (f: () => number): number | undefined => {
    try {
      return f();
    } catch {
      return undefined;
    }
  };
  return {
    // prev() is strictly before its start; a fire time exactly now counts.
    latestAtOrBefore: (ms) => attempt(() => at(ms + 1).prev().getTime()),
    nextAfter: (ms) => attempt(() => at(ms).next().getTime()),
  };
}

/** The fire time a scheduled Snapshot stands for: its annotation, else its name, else when it was created. */
function fireTimeOf(s: KubeObject): number | undefined {
  const annotated = Date.parse(s.metadata.annotations?.[SCHEDULED_TIME_ANNOTATION] ?? '');
  if (!Number.isNaN(annotated)) return annotated;
  const m = /\.auto-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})$/.exec(String(s.metadata.name));
  if (m) return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]));
  const created = Date.parse(String(s.metadata.creationTimestamp));
  return Number.isNaN(created) ? undefined : created;
}

export async function runSnapshotScheduleController(ctx: ControllerContext, o: SnapshotScheduleOptions = {}): Promise<void> {
  const instanceType = ctx.registry.resource('lodge.dev', 'v1alpha1', 'instances');
  const snapshotType = ctx.registry.resource('lodge.dev', 'v1alpha1', 'snapshots');
  if (!instanceType || !snapshotType) return;
  const now = (): number => (o.now ? o.now().getTime() : Date.now());
  const setTimer = o.setTimer ?? realTimer;
  const log = ctx.log.child({ controller: 'snapshot-schedule' });
  const instances = ctx.informers.for(instanceType);
  const snapshots = ctx.informers.for(snapshotType);
  const queue = new WorkQueue();

  /** Instance uid → its scheduled Snapshots (cache key → fire time): what was taken last. */
  const taken = new Map<string, Map<string, number>>();
  const ownersOf = (s: KubeObject): string[] =>
    s.metadata.labels?.[SCHEDULED_LABEL] === 'true'
      ? (s.metadata.ownerReferences ?? []).filter((r) => r.kind === 'Instance' && r.apiVersion === INSTANCE_API_VERSION).map((r) => r.uid)
      : [];
  const unindex = (s: KubeObject): void => {
    for (const uid of ownersOf(s)) {
      const m = taken.get(uid);
      m?.delete(cacheKey(s));
      if (m?.size === 0) taken.delete(uid);
    }
  };
  const index = (s: KubeObject): void => {
    const fire = fireTimeOf(s);
    if (fire === undefined) return;
    for (const uid of ownersOf(s)) {
      let m = taken.get(uid);
      if (!m) taken.set(uid, (m = new Map()));
      m.set(cacheKey(s), fire);
    }
  };
  const lastTaken = (uid: string): number | undefined => {
    let last: number | undefined;
    for (const t of taken.get(uid)?.values() ?? []) if (last === undefined || t > last) last = t;
    return last;
  };

  /** Expired snapshots that could not be deleted because they are in use, by uid: reported once each. */
  const inUseReported = new Set<string>();
  const scheduleTimers = new Map<string, () => void>();
  let expiryTimer: (() => void) | undefined;
  const disarm = (key: string): void => {
    scheduleTimers.get(key)?.();
    scheduleTimers.delete(key);
  };
  const arm = (key: string, ms: number): void => {
    disarm(key);
    scheduleTimers.set(key, setTimer(() => queue.add(INSTANCE_KEY + key), ms));
  };

  const enqueueInstance = (i: KubeObject): void => queue.add(INSTANCE_KEY + cacheKey(i));
  instances.addHandlers({ onAdd: enqueueInstance, onUpdate: (_old, i) => enqueueInstance(i), onDelete: enqueueInstance });
  snapshots.addHandlers({
    onAdd: (s) => {
      index(s);
      if (expiresAtOf(s) !== undefined) queue.add(EXPIRY_KEY);
    },
    onUpdate: (old, s) => {
      unindex(old);
      index(s);
      // Status updates (the agent's progress) leave the expiry alone: no rescan for them.
      if (expiresAtOf(s) !== expiresAtOf(old)) queue.add(EXPIRY_KEY);
    },
    onDelete: (s) => {
      unindex(s);
      inUseReported.delete(String(s.metadata.uid));
    },
  });
  ctx.signal.addEventListener('abort', () => {
    queue.stop();
    for (const cancel of scheduleTimers.values()) cancel();
    scheduleTimers.clear();
    expiryTimer?.();
  });
  // Stopped before the first lists: do not wait for them forever.
  const aborted = new Promise<void>((resolve) => (ctx.signal.aborted ? resolve() : ctx.signal.addEventListener('abort', () => resolve(), { once: true })));
  await Promise.race([Promise.all([instances.hasSynced, snapshots.hasSynced]), aborted]);
  if (ctx.signal.aborted) return;

  /** Schedules cron-parser could not read, by instance key, so each is reported once. */
  const unreadable = new Map<string, string>();

  const syncInstance = async (key: string): Promise<void> => {
    const inst = instances.cache.get(key);
    const policy = inst && policyOf(inst);
    const schedule = policy?.schedule;
    if (!inst || !schedule || inst.metadata.deletionTimestamp) {
      disarm(key);
      unreadable.delete(key);
      return;
    }
    const ns = String(inst.metadata.namespace);
    const name = String(inst.metadata.name);
    let times: FireTimes;
    try {
      times = fireTimes(schedule);
      unreadable.delete(key);
    } catch (e) {
      disarm(key);
      if (unreadable.get(key) !== schedule) {
        unreadable.set(key, schedule);
        log.warn('snapshot schedule not understood; no scheduled snapshots', { namespace: ns, instance: name, schedule, error: errorText(e) });
      }
      return;
    }
    const t = now();
    // Armed first, so a create that keeps failing does not hold up later fire times.
    const next = times.nextAfter(t);
    if (next === undefined) disarm(key);
    else arm(key, next - t);

    const latest = times.latestAtOrBefore(t);
    const created = Date.parse(String(inst.metadata.creationTimestamp));
    // creationTimestamp has whole seconds: a fire in the instance's first second counts as before it.
    if (latest === undefined || !(latest > created)) return;
    const last = lastTaken(String(inst.metadata.uid));
    if (last !== undefined && last >= latest) return;
    const expirySeconds = policy.expiry ? parseDuration(policy.expiry) : undefined;
    const expiresAt = expirySeconds ? latest + expirySeconds * 1000 : undefined;
    // Missed so long ago that it would be expired at birth (its predecessor may have expired already): skip it.
    if (expiresAt !== undefined && expiresAt <= t) return;
    await createSnapshot(inst, latest, expiresAt, policy.stateful ?? false);
  };

  const createSnapshot = async (inst: KubeObject, fire: number, expiresAt: number | undefined, stateful: boolean): Promise<void> => {
    const ns = String(inst.metadata.namespace);
    const instance = String(inst.metadata.name);
    const name = scheduledSnapshotName(instance, fire);
    const body: KubeObject = {
      apiVersion: INSTANCE_API_VERSION,
      kind: 'Snapshot',
      metadata: {
        name,
        namespace: ns,
        labels: { [INSTANCE_LABEL]: instanceLabelValue(instance), [SCHEDULED_LABEL]: 'true' },
        annotations: { [SCHEDULED_TIME_ANNOTATION]: rfc3339(fire) },
        ownerReferences: [{ apiVersion: INSTANCE_API_VERSION, kind: 'Instance', name: instance, uid: String(inst.metadata.uid) }],
      },
      spec: { instanceName: instance, stateful, ...(expiresAt !== undefined ? { expiresAt: rfc3339(expiresAt) } : {}) },
    };
    try {
      await ctx.svc.create(snapshotType, ns, body, controllerWrite(MANAGER));
    } catch (e) {
      // Taken already: by an earlier run of this controller or another control plane.
      if (codeOf(e) === 409) return;
      throw new Error(`creating scheduled snapshot ${ns}/${name} of instance ${instance} for ${rfc3339(fire)}: ${errorText(e)}`);
    }
    log.info('scheduled snapshot created', { namespace: ns, instance, snapshot: name, fireTime: rfc3339(fire), expiresAt: expiresAt === undefined ? undefined : rfc3339(expiresAt) });
  };

  /**
   * Delete one expired snapshot, judged on its current version (the cache may
   * be behind). Returns when it expires after all if its expiresAt moved, or
   * why it stays when something uses it (linked copies of it, a 409 as well).
   */
  const deleteExpired = async (ns: string, name: string, uid: string, t: number): Promise<{ later?: number; inUse?: string }> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = (await ctx.svc.tryGet(snapshotType, ns, name))?.obj;
      if (!current || current.metadata.uid !== uid || current.metadata.deletionTimestamp) return {};
      const at = expiresAtOf(current);
      if (at === undefined) return {};
      if (at > t) return { later: at };
      try {
        const { deleted } = await ctx.svc.delete(snapshotType, ns, name, {
          propagationPolicy: 'Background',
          preconditions: { uid, resourceVersion: current.metadata.resourceVersion },
        });
        log.info('expired snapshot deleted', { namespace: ns, snapshot: name, expiresAt: rfc3339(at), pending: !deleted || undefined });
        return {};
      } catch (e) {
        const code = codeOf(e);
        if (code === 404) return {};
        if (code !== 409) throw e;
        // A 409 on an unchanged object is not a race: something uses the snapshot.
        const again = (await ctx.svc.tryGet(snapshotType, ns, name))?.obj;
        if (again?.metadata.resourceVersion === current.metadata.resourceVersion) return { inUse: errorText(e) };
      }
    }
    throw new Error('it kept changing while being deleted');
  };

  const syncExpiry = async (): Promise<void> => {
    const t = now();
    let next = Infinity;
    const failures: string[] = [];
    for (const s of snapshots.list()) {
      const at = expiresAtOf(s);
      if (at === undefined || s.metadata.deletionTimestamp) continue;
      if (at > t) {
        next = Math.min(next, at);
        continue;
      }
      const ns = String(s.metadata.namespace);
      const name = String(s.metadata.name);
      const uid = String(s.metadata.uid);
      try {
        const r = await deleteExpired(ns, name, uid, t);
        if (r.later !== undefined) next = Math.min(next, r.later);
        if (r.inUse !== undefined) {
          // Nothing about the snapshot changes when its users go: look again later.
          next = Math.min(next, t + IN_USE_RETRY_MS);
          if (!inUseReported.has(uid)) {
            inUseReported.add(uid);
            log.warn('expired snapshot is in use; deleting it once it is free', { namespace: ns, snapshot: name, expiresAt: rfc3339(at), error: r.inUse });
          }
        }
      } catch (e) {
        failures.push(`${ns}/${name}: ${errorText(e)}`);
      }
    }
    expiryTimer?.();
    expiryTimer = Number.isFinite(next) ? setTimer(() => queue.add(EXPIRY_KEY), next - t) : undefined;
    if (failures.length) throw new Error(`deleting expired snapshots: ${failures.join('; ')}`);
  };

  const sync = (key: string): Promise<void> => (key === EXPIRY_KEY ? syncExpiry() : syncInstance(key.slice(INSTANCE_KEY.length)));
  await queue.run(sync, (key, err) => log.warn('snapshot schedule sync failed', { key, error: errorText(err) }), 2);
}
