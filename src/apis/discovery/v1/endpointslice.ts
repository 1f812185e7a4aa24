// EndpointSlice (discovery.k8s.io/v1): the addresses behind a Service in
// bounded slices, each of one address type. The endpointslice controller
// keeps those labelled as its own; others are written by hand or by other
// controllers and left alone.
import { isIPv4, isIPv6 } from 'node:net';
import { ageColumn, column } from '../../columns.js';
import { arr, bool, enumOf, int32, obj, str, stringMap, type Schema } from '../../schema.js';
import type { FieldError, KubeObject, ResourceType } from '../../types.js';
import { kindDefinition } from '../../meta/v1.js';
import { protocol } from '../../core/v1/container.js';
import { immutable, inRange, invalid, required } from '../../core/v1/field-errors.js';
import { atomicList, coreRef } from '../../core/v1/names.js';
import { check, dns1123Subdomain } from '../../core/v1/name-validation.js';
import type { ObjectReference } from '../../core/v1/types.js';

const DISCOVERY = 'io.k8s.api.discovery.v1';
const def = (name: string): string => `${DISCOVERY}.${name}`;
const dref = (name: string, description?: string): Schema => (description ? { $ref: def(name), description } : { $ref: def(name) });

export const ADDRESS_TYPES = ['IPv4', 'IPv6', 'FQDN'] as const;
/** Label naming the Service a slice belongs to. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Label naming the controller that manages a slice. */
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';

export type EndpointConditions = { ready?: boolean; serving?: boolean; terminating?: boolean };
export type SliceEndpoint = {
  addresses?: string[];
  conditions?: EndpointConditions;
  hostname?: string;
  targetRef?: ObjectReference;
  nodeName?: string;
  zone?: string;
};
export type SlicePort = { name?: string; protocol?: string; port?: number; appProtocol?: string };
export type EndpointSlice = KubeObject & { addressType?: string; endpoints?: SliceEndpoint[]; ports?: SlicePort[] };

export const endpointSliceDefinitions: Record<string, Schema> = {
  [def('EndpointConditions')]: obj(
    {
      ready: bool('The endpoint is ready to receive traffic (serving and not terminating).'),
      serving: bool('The endpoint is ready to receive traffic, terminating or not.'),
      terminating: bool('The endpoint is terminating.'),
    },
    { description: 'Current state of an endpoint.' },
  ),
  [def('ForZone')]: obj({ name: str('Name of the zone.') }, { required: ['name'], description: 'A zone that should consume this endpoint.' }),
  [def('ForNode')]: obj({ name: str('Name of the node.') }, { required: ['name'], description: 'A node that should consume this endpoint.' }),
  [def('EndpointHints')]: obj(
    {
      forZones: atomicList(dref('ForZone'), 'Zones that should consume this endpoint.'),
      forNodes: atomicList(dref('ForNode'), 'Nodes that should consume this endpoint.'),
    },
    { description: 'Hints for how an endpoint should be consumed.' },
  ),
  [def('Endpoint')]: obj(
    {
      addresses: { ...arr(str(), { description: 'Addresses of the endpoint, of the slice\'s address type; consumers use the first.' }), 'x-kubernetes-list-type': 'set' },
      conditions: dref('EndpointConditions', 'Current state of the endpoint.'),
      hostname: str('Hostname of the endpoint.'),
      targetRef: coreRef('ObjectReference', 'The object (a Pod or an Instance) behind the endpoint.'),
      deprecatedTopology: stringMap('Deprecated topology labels of the endpoint.'),
      nodeName: str('Node hosting the endpoint.'),
      zone: str('Zone of the endpoint.'),
      hints: dref('EndpointHints', 'Hints for how the endpoint should be consumed.'),
    },
    { required: ['addresses'], description: 'One endpoint of a service.' },
  ),
  [def('EndpointPort')]: {
    ...obj(
      {
        name: str('Name of the port; matches the service port\'s name.'),
        protocol: protocol('the port'),
        port: int32('Port number; unset means all ports.'),
        appProtocol: str('Application protocol of the port.'),
      },
      { description: 'A port of the endpoints of a slice.' },
    ),
    'x-kubernetes-map-type': 'atomic',
  },
  [def('EndpointSlice')]: kindDefinition(
    { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice' },
    'A subset of the endpoints that implement a service.',
    {
      addressType: enumOf([...ADDRESS_TYPES], 'Type of the addresses in this slice: IPv4, IPv6 or FQDN. Cannot change.'),
      endpoints: atomicList(dref('Endpoint'), 'Endpoints of the slice, at most 1000.'),
      ports: atomicList(dref('EndpointPort'), 'Ports every endpoint of the slice exposes, at most 100.'),
    },
    { required: ['addressType', 'endpoints'] },
  ),
};

const asSlice = (o: KubeObject): EndpointSlice => o as EndpointSlice;

const tooMany = (field: string, n: number, max: number): FieldError => ({ field, reason: 'FieldValueTooMany', message: `Too many: ${n}: must have at most ${max} items` });

/** Up to `max` items, then "+ N more...", as kubectl's EndpointSlice printer. */
function firstFew(items: string[], max = 3): string {
  if (!items.length) return '<unset>';
  const shown = items.slice(0, max).join(',');
  return items.length > max ? `${shown} + ${items.length - max} more...` : shown;
}

function validAddress(type: string | undefined, a: string): string | undefined {
  if (type === 'IPv4') return isIPv4(a) ? undefined : 'must be a valid IPv4 address';
  if (type === 'IPv6') return isIPv6(a) ? undefined : 'must be a valid IPv6 address';
  return dns1123Subdomain(a);
}

function validateSlice(s: EndpointSlice, old?: EndpointSlice): FieldError[] {
  const errs: FieldError[] = [];
  const eps = s.endpoints ?? [];
  if (eps.length > 1000) errs.push(tooMany('endpoints', eps.length, 1000));
  eps.forEach((e, i) => {
    const addrs = e.addresses ?? [];
    if (!addrs.length) errs.push(required(`endpoints[${i}].addresses`));
    if (addrs.length > 100) errs.push(tooMany(`endpoints[${i}].addresses`, addrs.length, 100));
    addrs.forEach((a, j) => {
      const why = validAddress(s.addressType, a);
      if (why) errs.push(invalid(`endpoints[${i}].addresses[${j}]`, a, why));
    });
    if (e.nodeName) errs.push(...check(`endpoints[${i}].nodeName`, e.nodeName, dns1123Subdomain));
  });
  const ports = s.ports ?? [];
  if (ports.length > 100) errs.push(tooMany('ports', ports.length, 100));
  ports.forEach((p, i) => {
    if (p.port !== undefined) errs.push(...inRange(`ports[${i}].port`, p.port, 1, 65535));
  });
  if (old && old.addressType !== s.addressType) errs.push(immutable('addressType', s.addressType));
  return errs;
}

export const endpointSlice: ResourceType = {
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  plural: 'endpointslices',
  singular: 'endpointslice',
  namespaced: true,
  definition: def('EndpointSlice'),
  statusSubresource: false,
  strategicMergePatch: true,
  columns: [
    column('AddressType', 'Type of the addresses.', (o) => asSlice(o).addressType ?? ''),
    column('Ports', 'Ports of the endpoints.', (o) => firstFew((asSlice(o).ports ?? []).map((p) => (p.port === undefined ? '<unset>' : String(p.port))))),
    column('Endpoints', 'Addresses of the endpoints.', (o) => firstFew((asSlice(o).endpoints ?? []).flatMap((e) => e.addresses ?? []))),
    ageColumn,
  ],
  applyDefaults(o) {
    for (const p of asSlice(o).ports ?? []) p.protocol ??= 'TCP';
  },
  validate(o, old) {
    return validateSlice(asSlice(o), old ? asSlice(old) : undefined);
  },
  describe(o) {
    const s = asSlice(o);
    const lines = [`AddressType:  ${s.addressType ?? ''}`, 'Ports:', '  Name     Port  Protocol', '  ----     ----  --------'];
    for (const p of s.ports ?? []) lines.push(`  ${p.name || '<unset>'}  ${p.port ?? '<unset>'}  ${p.protocol ?? 'TCP'}`);
    lines.push('Endpoints:');
    for (const e of s.endpoints ?? []) {
      lines.push(`  - Addresses:  ${(e.addresses ?? []).join(',')}`);
      lines.push(`    Conditions:`);
      lines.push(`      Ready:    ${e.conditions?.ready ?? '<unset>'}`);
      if (e.targetRef) lines.push(`    TargetRef:  ${e.targetRef.kind}/${e.targetRef.name}`);
      if (e.nodeName) lines.push(`    NodeName:   ${e.nodeName}`);
    }
    return lines;
  },
};
