// Lease: a lightweight lock with a holder and an expiry, used for leader
// election of controllers and for node heartbeats.
import { ageColumn, column } from '../../columns.js';
import { int32, obj, ref, str, time, type Schema } from '../../schema.js';
import type { FieldError, KubeObject, ResourceType } from '../../types.js';
import { nonNegative, positive, required } from '../../core/v1/field-errors.js';
import { kindDefinition } from '../../meta/v1.js';

const COORDINATION = 'io.k8s.api.coordination.v1';
const def = (name: string): string => `${COORDINATION}.${name}`;

type Lease = KubeObject & {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
    strategy?: string;
    preferredHolder?: string;
  };
};

export const leaseDefinitions: Record<string, Schema> = {
  [def('LeaseSpec')]: obj(
    {
      holderIdentity: str('Who holds the lease now.'),
      leaseDurationSeconds: int32('Seconds others wait after the last renewal before they may take the lease.'),
      acquireTime: time('When the current holder acquired the lease.'),
      renewTime: time('When the current holder last renewed it.'),
      leaseTransitions: int32('How many times the lease has changed holders.'),
      strategy: str('Coordinated leader election strategy, e.g. OldestEmulationVersion.'),
      preferredHolder: str('Holder that should take over when the current one lets go; needs strategy.'),
    },
    { description: 'Desired state of a lease.' },
  ),
  [def('Lease')]: kindDefinition({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease' }, 'A lock with a holder and an expiry time.', {
    spec: ref(def('LeaseSpec'), 'The lease\'s holder and timing.'),
  }),
};

const asLease = (o: KubeObject): Lease => o as Lease;

function validateLease(l: Lease): FieldError[] {
  const s = l.spec ?? {};
  const errs = [...positive('spec.leaseDurationSeconds', s.leaseDurationSeconds), ...nonNegative('spec.leaseTransitions', s.leaseTransitions)];
  if (s.preferredHolder && !s.strategy) errs.push(required('spec.strategy', 'must be specified when preferredHolder is set'));
  return errs;
}

export const lease: ResourceType = {
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  plural: 'leases',
  singular: 'lease',
  namespaced: true,
  definition: def('Lease'),
  statusSubresource: false,
  strategicMergePatch: true,
  columns: [column('Holder', 'Who holds the lease.', (o) => asLease(o).spec?.holderIdentity ?? ''), ageColumn],
  validate(o) {
    return validateLease(asLease(o));
  },
  describe(o) {
    const s = asLease(o).spec ?? {};
    return [
      `Holder Identity:         ${s.holderIdentity ?? '<none>'}`,
      `Lease Duration Seconds:  ${s.leaseDurationSeconds ?? ''}`,
      `Acquire Time:            ${s.acquireTime ?? ''}`,
      `Renew Time:              ${s.renewTime ?? ''}`,
      `Lease Transitions:       ${s.leaseTransitions ?? 0}`,
    ];
  },
};
