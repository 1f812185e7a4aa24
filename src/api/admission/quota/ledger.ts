// The quota ledger of a namespace: one store key holding what the
// namespace's objects use and the charges of writes still in flight.
//
// Why a ledger, and why one key per namespace: admission must decide "does
// this create fit every quota?" and record the answer atomically, or two
// concurrent creates can each see room for one and both get in. The store
// has compare-and-swap on one key and no transactions across keys, so all
// charges of a namespace go through one key: each admission reads it,
// checks the quotas against used + pending, adds its charge, and writes it
// back only if nobody wrote in between (else reads again). Concurrent
// creates are thus serialized by the store itself — across API server
// processes too — and never exceed a quota. (Kubernetes does the same CAS on
// the ResourceQuota's status.used; Lodge keeps it apart so the status stays
// the plain Kubernetes shape and the controller's recount can reason about
// in-flight writes, below.)
//
// A charge is "pending" from admission until its write is settled: removed
// if the write failed, marked `written` once it is in the store. A recount
// (the controller, or admission when the ledger does not cover a resource)
// reads the ledger first and lists the objects after, so every charge marked
// written in what it read is for an object the list already reflects: it can
// drop those and keep the unwritten ones, which the list may miss. Its
// result is written with CAS against what it read, so a charge that lands
// meanwhile sends it round again. A charge never settled (the process died
// mid-write) is dropped once older than STALE_MS.
import { randomUUID } from 'node:crypto';
import type { Registry } from '../../../apis/registry.js';
import type { KubeObject, ResourceType } from '../../../apis/types.js';
import { KeyExistsError, NotFoundError, RevisionConflictError, type Store } from '../../../store/store.js';
import { decode } from '../../codec.js';
import { collectionPrefix } from '../../resources/keys.js';
import { type Amounts } from './amounts.js';
import { matchesScopes, parseLedgerName } from './scopes.js';
import { kindsCounting, usageOf } from './usage.js';

const LEDGER_PREFIX = '/registry/quotaledgers/';
/** A charge whose write never reported back is dropped after this long (a write takes milliseconds). */
const STALE_MS = 60_000;
const MAX_ROUNDS = 1000;

export interface Charge {
  id: string;
  amounts: Amounts;
  /** Wall-clock ms of admission, only to expire charges never settled. */
  at: number;
  written: boolean;
  /** The object charged, and for an update the resourceVersion it replaces: a recount that lists the object past that version has counted it. */
  uid?: string;
  fromVersion?: string;
}

export interface LedgerRecord {
  /** Resource names `used` was counted for. */
  covers: string[];
  /** Usage of the stored objects at the last recount. */
  used: Amounts;
  pending: Charge[];
}

/** What a namespace holds of `name` (a resource, or a scoped quota's ledger name): counted usage plus in-flight charges. */
export function charged(l: LedgerRecord, name: string): number {
  let n = l.used[name] ?? 0;
  for (const c of l.pending) n += c.amounts[name] ?? 0;
  return n;
}

export const ledgerKey = (ns: string): string => `${LEDGER_PREFIX}${ns}`;

export class QuotaLedger {
  constructor(
    private readonly store: Store,
    private readonly registry: Registry,
  ) {}

  async read(ns: string): Promise<{ record: LedgerRecord | null; revision: number }> {
    const kv = await this.store.get(ledgerKey(ns));
    return kv ? { record: JSON.parse(kv.value) as LedgerRecord, revision: kv.revision } : { record: null, revision: 0 };
  }

  /** Write `next` if the key is still at `revision` (0: absent). False when someone wrote first. */
  async write(ns: string, next: LedgerRecord, revision: number): Promise<boolean> {
    try {
      if (revision === 0) await this.store.create(ledgerKey(ns), JSON.stringify(next));
      else await this.store.update(ledgerKey(ns), JSON.stringify(next), revision);
      return true;
    } catch (e) {
      if (e instanceof RevisionConflictError || e instanceof KeyExistsError || e instanceof NotFoundError) return false;
      throw e;
    }
  }

  async remove(ns: string): Promise<void> {
    const kv = await this.store.get(ledgerKey(ns));
    if (kv) await this.store.delete(ledgerKey(ns), kv.revision).catch(() => undefined);
  }

  /**
   * A fresh count for `names` (and what `prev` covered) from the stored
   * objects, keeping the charges of `prev` that the lists may not reflect.
   * `prev` must have been read before this is called.
   */
  async recount(ns: string, prev: LedgerRecord | null, names: Iterable<string>): Promise<LedgerRecord> {
    const covers = [...new Set([...(prev?.covers ?? []), ...names])].sort();
    // A name may be a scoped quota's ("requests.cpu#NotBestEffort"): only objects in those scopes count toward it.
    const counted = covers.map((name) => ({ name, ...parseLedgerName(name) }));
    const kinds = new Set(counted.flatMap((c) => kindsCounting(c.resource)));
    const used: Amounts = {};
    const listed = new Map<string, string | undefined>();
    for (const gp of kinds) {
      const rt = this.kindOf(gp);
      if (!rt) continue;
      for (const obj of await this.listAll(rt, ns)) {
        if (obj.metadata.uid) listed.set(obj.metadata.uid, obj.metadata.resourceVersion);
        const u = usageOf(rt, obj);
        for (const c of counted) if (u[c.resource] !== undefined && matchesScopes(rt, obj, c.scopes)) used[c.name] = (used[c.name] ?? 0) + u[c.resource];
      }
    }
    const now = Date.now();
    // A charge is in the count once its write is settled, or once the list shows its object (past the version an update replaces).
    const inCount = (c: Charge): boolean => c.written || (c.uid !== undefined && listed.has(c.uid) && (c.fromVersion === undefined || listed.get(c.uid) !== c.fromVersion));
    const pending = (prev?.pending ?? []).filter((c) => !inCount(c) && now - c.at < STALE_MS);
    return { covers, used, pending };
  }

  /** Recount and store the result; returns what was stored. */
  async refresh(ns: string, names: Iterable<string>): Promise<LedgerRecord> {
    const wanted = [...names];
    for (let round = 0; ; round++) {
      const { record, revision } = await this.read(ns);
      const next = await this.recount(ns, record, wanted);
      if (await this.write(ns, next, revision)) return next;
      if (round >= MAX_ROUNDS) throw new Error(`quota ledger of namespace ${ns}: too much contention`);
    }
  }

  /**
   * Read-check-write of one charge. `decide` sees the current record
   * (recounted first when it does not cover `names`) and throws to refuse.
   * Returns the charge id, or undefined when `dryRun`.
   */
  async charge(ns: string, names: string[], amounts: Amounts, decide: (l: LedgerRecord) => void, dryRun: boolean, object: Pick<Charge, 'uid' | 'fromVersion'> = {}): Promise<string | undefined> {
    for (let round = 0; ; round++) {
      const { record, revision } = await this.read(ns);
      const covered = record !== null && names.every((n) => record.covers.includes(n));
      const current = covered ? record : await this.recount(ns, record, names);
      decide(current);
      if (dryRun) return undefined;
      const id = randomUUID();
      const next: LedgerRecord = { ...current, pending: [...current.pending, { id, amounts: { ...amounts }, at: Date.now(), written: false, ...object }] };
      if (await this.write(ns, next, revision)) return id;
      if (round >= MAX_ROUNDS) throw new Error(`quota ledger of namespace ${ns}: too much contention`);
    }
  }

  /** The write charged as `id` ended: keep the charge as written, or drop it. */
  async settle(ns: string, id: string, written: boolean): Promise<void> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const { record, revision } = await this.read(ns);
      if (!record || !record.pending.some((c) => c.id === id)) return;
      const pending = written ? record.pending.map((c) => (c.id === id ? { ...c, written: true } : c)) : record.pending.filter((c) => c.id !== id);
      if (await this.write(ns, { ...record, pending }, revision)) return;
    }
  }

  private kindOf(groupPlural: string): ResourceType | undefined {
    const [group, plural] = groupPlural.split('/');
    return this.registry.kinds.find((k) => k.group === group && k.plural === plural && k.namespaced);
  }

  private async listAll(rt: ResourceType, ns: string): Promise<KubeObject[]> {
    const out: KubeObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.store.list(collectionPrefix(rt, ns), { limit: 500, continue: token });
      for (const kv of page.items) out.push(decode(kv.value, kv.revision));
      token = page.continue;
    } while (token);
    return out;
  }
}

