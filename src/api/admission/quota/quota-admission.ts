// ResourceQuota admission: a create (or an update that grows usage, such as
// an Instance resized or a Service turned NodePort) is charged against every
// ResourceQuota of its namespace whose scopes it is in, in the namespace's
// ledger, and refused with 403 Forbidden — in Kubernetes' words — when any
// quota would be exceeded.
// Runs as an Allocator, after validation and LimitRange defaulting, so what
// is charged is what will be stored.
import type { Pod } from '../../../apis/core/v1/types.js';
import type { Registry } from '../../../apis/registry.js';
import type { KubeObject, ResourceType } from '../../../apis/types.js';
import type { Store } from '../../../store/store.js';
import { decode } from '../../codec.js';
import type { Allocator, Reservation } from '../../resources/resource-service.js';
import { collectionPrefix } from '../../resources/keys.js';
import { ApiError, qualifiedResource } from '../../status.js';
import { increase, milli, prettyPrint, type Amounts } from './amounts.js';
import { charged, QuotaLedger, type LedgerRecord } from './ledger.js';
import { ledgerName, matchesScopes, quotaScopes, scopesOf, type Scope, type ScopedSpec } from './scopes.js';
import { missingCompute, usageOf } from './usage.js';

const NOTHING: Reservation = { commit: async () => undefined, rollback: async () => undefined };

/** Kubernetes' admission refusal: `pods "web" is forbidden: <why>`. */
export function admissionForbidden(rt: ResourceType, name: string | undefined, why: string): ApiError {
  const what = name ? `${qualifiedResource(rt)} "${name}"` : qualifiedResource(rt);
  return new ApiError(403, 'Forbidden', `${what} is forbidden: ${why}`, { name, group: rt.group, kind: rt.plural });
}

interface Quota {
  name: string;
  hard: Record<string, string>;
  /** Only objects in all of these are charged (none: every object). */
  scopes: Scope[];
}

export class QuotaAdmission {
  readonly ledger: QuotaLedger;
  private readonly quotaType: ResourceType;

  constructor(
    private readonly store: Store,
    registry: Registry,
  ) {
    this.ledger = new QuotaLedger(store, registry);
    const rt = registry.resource('', 'v1', 'resourcequotas');
    if (!rt) throw new Error('ResourceQuota is not served');
    this.quotaType = rt;
  }

  /** The admission step for objects of `rt`. */
  for(rt: ResourceType): Allocator {
    return {
      reserve: (obj, old, dryRun) => this.reserve(rt, obj, old, dryRun),
      // The controller recounts when objects go; nothing is held per object.
      release: async () => undefined,
    };
  }

  /** The namespace's quotas, read from the store (not a cache): a quota applies from the moment it is stored. */
  async quotas(ns: string): Promise<Quota[]> {
    const page = await this.store.list(collectionPrefix(this.quotaType, ns));
    return page.items
      .map((kv) => decode(kv.value, kv.revision))
      .map((q) => ({ name: String(q.metadata.name), hard: ((q.spec?.hard ?? {}) as Record<string, string>), scopes: quotaScopes(q.spec as ScopedSpec | undefined) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  private async reserve(rt: ResourceType, obj: KubeObject, old: KubeObject | undefined, dryRun: boolean): Promise<Reservation> {
    const ns = obj.metadata.namespace;
    if (!ns) return NOTHING;
    const usage = usageOf(rt, obj);
    const before = old ? usageOf(rt, old) : {};
    // Most updates (status, labels) add nothing and move into no other scope: they skip the quotas and the ledger.
    if (old ? !Object.keys(increase(usage, before)).length && sameScopes(rt, obj, old) : !Object.keys(usage).length) return NOTHING;
    const quotas = await this.quotas(ns);
    if (!quotas.length) return NOTHING;
    const name = obj.metadata.name;
    if (!old && rt.group === '' && rt.plural === 'pods') {
      for (const q of quotas) {
        if (!matchesScopes(rt, obj, q.scopes)) continue;
        const missing = missingCompute(obj as Pod, Object.keys(q.hard));
        if (missing) throw admissionForbidden(rt, name, `failed quota: ${q.name}: must specify ${missing}`);
      }
    }
    // An update is charged only for what it adds, per ledger name: growing, or entering a scoped quota's scopes.
    const amounts = increase(chargeable(rt, obj, usage, quotas), old ? chargeable(rt, old, before, quotas) : {});
    const names = Object.keys(amounts).sort();
    if (!names.length) return NOTHING;
    const id = await this.ledger.charge(ns, names, amounts, (l) => this.check(rt, name, quotas, amounts, l), dryRun, {
      uid: obj.metadata.uid,
      fromVersion: old?.metadata.resourceVersion,
    });
    if (id === undefined) return NOTHING;
    return {
      commit: () => this.ledger.settle(ns, id, true),
      rollback: () => this.ledger.settle(ns, id, false),
    };
  }

  /** Throws for the first quota (by name) the request would exceed, naming only the resources it exceeds. */
  private check(rt: ResourceType, name: string | undefined, quotas: Quota[], amounts: Amounts, l: LedgerRecord): void {
    for (const q of quotas) {
      const requested: Amounts = {};
      const used: Amounts = {};
      const limited: Record<string, string> = {};
      for (const [res, hardText] of Object.entries(q.hard)) {
        const counted = ledgerName(res, q.scopes);
        const want = amounts[counted];
        const hard = milli(hardText);
        if (want === undefined || hard === undefined) continue;
        const have = charged(l, counted);
        if (have + want > hard) {
          requested[res] = want;
          used[res] = have;
          limited[res] = hardText;
        }
      }
      if (Object.keys(requested).length)
        throw admissionForbidden(
          rt,
          name,
          `exceeded quota: ${q.name}, requested: ${prettyPrint(requested)}, used: ${prettyPrint(used)}, limited: ${prettyPrint(requested, (k) => String(limited[k]))}`,
        );
    }
  }
}

/** What `obj` (whose usage is `usage`) is charged under each ledger name: each quota's limited resources, if the object is in its scopes. */
function chargeable(rt: ResourceType, obj: KubeObject, usage: Amounts, quotas: Quota[]): Amounts {
  const out: Amounts = {};
  for (const q of quotas) {
    if (!matchesScopes(rt, obj, q.scopes)) continue;
    for (const res of Object.keys(q.hard)) if (usage[res] !== undefined) out[ledgerName(res, q.scopes)] = usage[res];
  }
  return out;
}

function sameScopes(rt: ResourceType, a: KubeObject, b: KubeObject): boolean {
  const x = scopesOf(rt, a);
  const y = scopesOf(rt, b);
  return x.size === y.size && [...x].every((s) => y.has(s));
}
