// ResourceQuota admission: a create (or an update that grows usage, such as
// an Instance resized or a Service turned NodePort) is charged against every
// ResourceQuota of its namespace in the namespace's ledger, and refused with
// 403 Forbidden — in Kubernetes' words — when any quota would be exceeded.
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
      .map((q) => ({ name: String(q.metadata.name), hard: ((q.spec?.hard ?? {}) as Record<string, string>) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  private async reserve(rt: ResourceType, obj: KubeObject, old: KubeObject | undefined, dryRun: boolean): Promise<Reservation> {
    const ns = obj.metadata.namespace;
    if (!ns) return NOTHING;
    // An update is charged only for what it adds; most updates (status, labels) add nothing and skip the ledger.
    const wanted = old ? increase(usageOf(rt, obj), usageOf(rt, old)) : usageOf(rt, obj);
    if (!Object.keys(wanted).length) return NOTHING;
    const quotas = await this.quotas(ns);
    if (!quotas.length) return NOTHING;
    const name = obj.metadata.name;
    if (!old && rt.group === '' && rt.plural === 'pods') {
      for (const q of quotas) {
        const missing = missingCompute(obj as Pod, Object.keys(q.hard));
        if (missing) throw admissionForbidden(rt, name, `failed quota: ${q.name}: must specify ${missing}`);
      }
    }
    const names = [...new Set(quotas.flatMap((q) => Object.keys(q.hard)))].filter((n) => wanted[n] !== undefined).sort();
    if (!names.length) return NOTHING;
    const amounts: Amounts = Object.fromEntries(names.map((n) => [n, wanted[n]]));
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
        const want = amounts[res];
        const hard = milli(hardText);
        if (want === undefined || hard === undefined) continue;
        const have = charged(l, res);
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

