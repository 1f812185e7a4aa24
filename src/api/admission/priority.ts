// Priority admission, as Kubernetes' Priority admission plugin: on create, a
// Pod's (or an Instance's) spec.priorityClassName is resolved to
// spec.priority and spec.preemptionPolicy — the global default class when it
// names none, else priority 0 — and refused with 403 Forbidden when the
// class does not exist or when the spec already says something else. On
// update the resolved values are kept when a write leaves them out. For
// PriorityClasses themselves: only one may be the global default.
// Runs as an Allocator (after validation, before quota, which may charge by
// priority class).
import type { Registry } from '../../apis/registry.js';
import { SYSTEM_PRIORITY_CLASSES, systemPriorityClassObject, type PriorityClass } from '../../apis/scheduling/v1/priorityclass.js';
import type { KubeObject, ResourceType } from '../../apis/types.js';
import type { Store } from '../../store/store.js';
import { decode } from '../codec.js';
import type { Allocator, Reservation, ResourceService } from '../resources/resource-service.js';
import { collectionPrefix, objectKey } from '../resources/keys.js';
import { admissionForbidden } from './quota/quota-admission.js';

const NOTHING: Reservation = { commit: async () => undefined, rollback: async () => undefined };
/** How long the global default class is believed without reading the classes again (Kubernetes reads it from an informer: as lagged). */
const DEFAULT_TTL_MS = 1000;

type Prioritized = { priorityClassName?: string; priority?: number; preemptionPolicy?: string };

export class PriorityAdmission {
  private readonly pcType: ResourceType | undefined;
  private defaultCache?: { until: number; pc: PriorityClass | undefined };

  constructor(
    private readonly store: Store,
    registry: Registry,
  ) {
    this.pcType = registry.resource('scheduling.k8s.io', 'v1', 'priorityclasses');
  }

  /** The class of this name, read from the store (a class is usable from the moment it is stored). */
  async get(name: string): Promise<PriorityClass | undefined> {
    if (!this.pcType) return undefined;
    const kv = await this.store.get(objectKey(this.pcType, undefined, name));
    return kv ? (decode(kv.value, kv.revision) as PriorityClass) : undefined;
  }

  /** The global default class (the lowest-valued one, should a race have made two), if any. */
  async globalDefault(fresh = false): Promise<PriorityClass | undefined> {
    if (!this.pcType) return undefined;
    const now = Date.now();
    if (!fresh && this.defaultCache && this.defaultCache.until > now) return this.defaultCache.pc;
    const page = await this.store.list(collectionPrefix(this.pcType));
    let found: PriorityClass | undefined;
    for (const kv of page.items) {
      // Most classes are not the default: skip decoding those.
      if (!kv.value.includes('"globalDefault":true')) continue;
      const pc = decode(kv.value, kv.revision) as PriorityClass;
      if (pc.globalDefault && (!found || (pc.value ?? 0) < (found.value ?? 0))) found = pc;
    }
    this.defaultCache = { until: now + DEFAULT_TTL_MS, pc: found };
    return found;
  }

  /** The admission step for Pods and Instances. */
  forWorkloads(rt: ResourceType): Allocator {
    return { reserve: async (obj, old) => (await this.admitWorkload(rt, obj, old), NOTHING), release: async () => undefined };
  }

  /** The admission step for PriorityClasses. */
  forPriorityClasses(rt: ResourceType): Allocator {
    return {
      reserve: async (obj, old) => {
        await this.admitPriorityClass(rt, obj as PriorityClass, old as PriorityClass | undefined);
        return { commit: async () => void (this.defaultCache = undefined), rollback: async () => undefined };
      },
      release: async () => void (this.defaultCache = undefined),
    };
  }

  private async admitWorkload(rt: ResourceType, obj: KubeObject, old: KubeObject | undefined): Promise<void> {
    const spec = (obj.spec ??= {}) as Prioritized;
    if (old) {
      // Resolved on create; an update that leaves them out keeps them (validation refuses changes).
      const was = (old.spec ?? {}) as Prioritized;
      if (spec.priority === undefined && was.priority !== undefined) spec.priority = was.priority;
      if (spec.preemptionPolicy === undefined && was.preemptionPolicy !== undefined) spec.preemptionPolicy = was.preemptionPolicy;
      return;
    }
    const name = obj.metadata.name;
    let priority = 0;
    let policy: string | undefined;
    if (!spec.priorityClassName) {
      const pc = await this.globalDefault();
      if (pc) {
        spec.priorityClassName = String(pc.metadata.name);
        priority = pc.value ?? 0;
        policy = pc.preemptionPolicy;
      }
    } else {
      const pc = await this.get(spec.priorityClassName);
      if (!pc) throw admissionForbidden(rt, name, `no PriorityClass with name ${spec.priorityClassName} was found`);
      priority = pc.value ?? 0;
      policy = pc.preemptionPolicy;
    }
    if (spec.priority !== undefined && spec.priority !== null && spec.priority !== priority)
      throw admissionForbidden(rt, name, `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`);
    spec.priority = priority;
    if (policy !== undefined) {
      if (spec.preemptionPolicy !== undefined && spec.preemptionPolicy !== null && spec.preemptionPolicy !== policy)
        throw admissionForbidden(rt, name, `the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`);
      spec.preemptionPolicy = policy;
    }
    // As Kubernetes' Pod defaulting.
    spec.preemptionPolicy ??= 'PreemptLowerPriority';
  }

  private async admitPriorityClass(rt: ResourceType, pc: PriorityClass, old: PriorityClass | undefined): Promise<void> {
    if (!pc.globalDefault) return;
    const current = await this.globalDefault(true);
    if (current && (!old || current.metadata.name !== pc.metadata.name))
      throw admissionForbidden(rt, pc.metadata.name, `PriorityClass ${String(current.metadata.name)} is already marked as default. Only one default can exist`);
  }
}

/** Wires priority admission into the write path of Pods, Instances and PriorityClasses (before quota: install it first). */
export function installPriorityAdmission(service: ResourceService, store: Store): PriorityAdmission {
  const reg = service.registry;
  const admission = new PriorityAdmission(store, reg);
  const pcType = reg.resource('scheduling.k8s.io', 'v1', 'priorityclasses');
  if (pcType) service.useAllocator(pcType, admission.forPriorityClasses(pcType));
  for (const rt of [reg.resource('', 'v1', 'pods'), reg.resource('lodge.dev', 'v1alpha1', 'instances')]) if (rt) service.useAllocator(rt, admission.forWorkloads(rt));
  return admission;
}

/** The system PriorityClasses, created on the first start (left as they are after). */
export async function bootstrapPriorityClasses(service: ResourceService): Promise<void> {
  const rt = service.registry.resource('scheduling.k8s.io', 'v1', 'priorityclasses');
  if (!rt) return;
  for (const c of SYSTEM_PRIORITY_CLASSES) {
    if (await service.tryGet(rt, undefined, c.name)) continue;
    try {
      await service.create(rt, undefined, systemPriorityClassObject(c), { manager: 'lodge', fieldValidation: 'Strict', dryRun: false, warnings: [] });
    } catch (e) {
      if ((e as { code?: number }).code !== 409) throw e;
    }
  }
}
