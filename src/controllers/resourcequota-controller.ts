// ResourceQuota status: for each namespace with quotas, recount what its
// objects use (for a scoped quota, only the objects in its scopes) (the quota ledger's recount: read the ledger, list the store,
// keep in-flight charges) and write status.hard/status.used of every quota
// when they differ. Level-triggered: informers on the quotas and the counted
// kinds only say which namespace to look at; the count itself comes from
// the store, because the ledger's in-flight reasoning needs lists taken
// after the ledger was read, which a cache cannot promise. Deleting objects
// is what releases usage: the next recount no longer sees them.
import type { KubeObject } from '../apis/types.js';
import { format } from '../api/admission/quota/amounts.js';
import { charged } from '../api/admission/quota/ledger.js';
import type { QuotaAdmission } from '../api/admission/quota/quota-admission.js';
import { ledgerName, quotaScopes, type ScopedSpec } from '../api/admission/quota/scopes.js';
import { controllerWrite, type ControllerContext } from './runtime/informer-factory.js';
import { WorkQueue } from './runtime/workqueue.js';

const MANAGER = 'resourcequota-controller';
/** Every namespace with quotas is recounted this often, for kinds no informer here watches (count/<anything>) and charges never settled. */
const RESYNC_MS = 30_000;
/** While charges are in flight, look again soon so status.used converges. */
const PENDING_RECHECK_MS = 1000;
const TRIGGERS: Array<[string, string, string]> = [
  ['', 'v1', 'pods'],
  ['', 'v1', 'services'],
  ['', 'v1', 'configmaps'],
  ['', 'v1', 'secrets'],
  ['', 'v1', 'persistentvolumeclaims'],
  ['lodge.dev', 'v1alpha1', 'instances'],
];

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});

export async function runResourceQuotaController(ctx: ControllerContext, quota: QuotaAdmission): Promise<void> {
  const quotaType = ctx.registry.resource('', 'v1', 'resourcequotas');
  if (!quotaType) return;
  const log = ctx.log.child({ controller: 'resourcequota' });
  const queue = new WorkQueue();
  ctx.signal.addEventListener('abort', () => queue.stop());
  const quotas = ctx.informers.for(quotaType);
  const hasQuota = (ns: string | undefined): boolean => !!ns && quotas.list().some((q) => q.metadata.namespace === ns);
  const onQuota = (o: KubeObject): void => queue.add(String(o.metadata.namespace));
  quotas.addHandlers({ onAdd: onQuota, onUpdate: (_o, n) => onQuota(n), onDelete: onQuota });
  const watched = [quotas];
  for (const [g, v, p] of TRIGGERS) {
    const rt = ctx.registry.resource(g, v, p);
    if (!rt) continue;
    const inf = ctx.informers.for(rt);
    const poke = (o: KubeObject): void => {
      if (hasQuota(o.metadata.namespace)) queue.add(String(o.metadata.namespace));
    };
    inf.addHandlers({ onAdd: poke, onUpdate: (_o, n) => poke(n), onDelete: poke });
    watched.push(inf);
  }
  await Promise.all(watched.map((i) => i.hasSynced));
  const resync = setInterval(() => {
    for (const ns of new Set(quotas.list().map((q) => String(q.metadata.namespace)))) queue.add(ns);
  }, RESYNC_MS);
  ctx.signal.addEventListener('abort', () => clearInterval(resync));

  const sync = async (ns: string): Promise<void> => {
    const mine = quotas.list().filter((q) => q.metadata.namespace === ns);
    if (!mine.length) {
      await quota.ledger.remove(ns);
      return;
    }
    // Each quota counts under its own scopes' ledger names (plain resource names when unscoped).
    const names = new Set(mine.flatMap((q) => Object.keys((q.spec?.hard ?? {}) as Record<string, string>).map((n) => ledgerName(n, quotaScopes(q.spec as ScopedSpec | undefined)))));
    const record = await quota.ledger.refresh(ns, names);
    if (record.pending.length) queue.addAfter(ns, PENDING_RECHECK_MS);
    for (const cached of mine) {
      const name = String(cached.metadata.name);
      const current = (await ctx.svc.tryGet(quotaType, ns, name))?.obj;
      if (!current) continue;
      const hard = { ...((current.spec?.hard ?? {}) as Record<string, string>) };
      const scopes = quotaScopes(current.spec as ScopedSpec | undefined);
      const used = Object.fromEntries(Object.keys(hard).sort().map((n) => [n, format(n, charged(record, ledgerName(n, scopes)))]));
      if (same(current.status?.hard, hard) && same(current.status?.used, used)) continue;
      // Pinned to the read resourceVersion: a concurrent edit of the quota fails this and the namespace is synced again.
      await ctx.svc.update(quotaType, ns, name, { ...current, status: { hard, used } }, controllerWrite(MANAGER), 'status');
    }
  };
  await queue.run(sync, (ns, err) => log.warn('resource quota sync failed', { namespace: ns, error: (err as Error).message }), 2);
}
