// Endpoints: the addresses behind a service, kept by the services controller
// (or by hand for services without a selector).
import { ageColumn, column } from '../../columns.js';
import { int32, obj, str, type Schema } from '../../schema.js';
import type { FieldError, KubeObject, ResourceType } from '../../types.js';
import { kindDefinition } from '../../meta/v1.js';
import { protocol } from './container.js';
import { inRange, invalid } from './field-errors.js';
import { atomicList, core, coreGVK, coreRef } from './names.js';
import { isIP } from 'node:net';
import type { EndpointSubset } from './types.js';

type Endpoints = KubeObject & {
  subsets?: EndpointSubset[];
};

export const endpointsDefinitions: Record<string, Schema> = {
  [core('EndpointAddress')]: {
    ...obj(
      {
        ip: str('IP address of the endpoint.'),
        hostname: str('Host name of the endpoint.'),
        nodeName: str('Node hosting the endpoint.'),
        targetRef: coreRef('ObjectReference', 'The object (usually a pod) behind the address.'),
      },
      { required: ['ip'], description: 'One address of an endpoint.' },
    ),
    'x-kubernetes-map-type': 'atomic',
  },
  [core('EndpointPort')]: {
    ...obj(
      {
        name: str('Name of the port; matches the service port\'s name.'),
        port: int32('Port number.'),
        protocol: protocol('the port'),
        appProtocol: str('Application protocol of the port.'),
      },
      { required: ['port'], description: 'A port of an endpoint.' },
    ),
    'x-kubernetes-map-type': 'atomic',
  },
  [core('EndpointSubset')]: obj(
    {
      addresses: atomicList(coreRef('EndpointAddress'), 'Addresses ready for traffic.'),
      notReadyAddresses: atomicList(coreRef('EndpointAddress'), 'Addresses not ready yet.'),
      ports: atomicList(coreRef('EndpointPort'), 'Ports available on every address.'),
    },
    { description: 'Addresses sharing the same ports.' },
  ),
  [core('Endpoints')]: kindDefinition(coreGVK('Endpoints'), 'The network addresses that implement a service.', {
    subsets: atomicList(coreRef('EndpointSubset'), 'Groups of addresses with their ports.'),
  }),
};

const asEndpoints = (o: KubeObject): Endpoints => o as Endpoints;

/** "10.0.0.1:80,10.0.0.2:80 + 3 more..." as kubectl shows endpoints. */
export function formatEndpoints(subsets: EndpointSubset[] | undefined, max = 3): string {
  if (!subsets?.length) return '<none>';
  const shown: string[] = [];
  let total = 0;
  for (const s of subsets) {
    const ips = (s.addresses ?? []).map((a) => a.ip ?? '');
    const ports = s.ports ?? [];
    const entries = ports.length
      ? ports.flatMap((p) => ips.map((ip) => (ip.includes(':') ? `[${ip}]:${p.port}` : `${ip}:${p.port}`)))
      : ips;
    total += entries.length;
    for (const e of entries) if (shown.length < max) shown.push(e);
  }
  if (!shown.length) return '<none>';
  return total > shown.length ? `${shown.join(',')} + ${total - shown.length} more...` : shown.join(',');
}

function validateSubsets(subsets: EndpointSubset[] | undefined): FieldError[] {
  const errs: FieldError[] = [];
  (subsets ?? []).forEach((s, i) => {
    for (const list of ['addresses', 'notReadyAddresses'] as const) {
      (s[list] ?? []).forEach((a, j) => {
        if (a.ip !== undefined && !isIP(a.ip)) errs.push(invalid(`subsets[${i}].${list}[${j}].ip`, a.ip, 'must be a valid IP address'));
      });
    }
    (s.ports ?? []).forEach((p, j) => errs.push(...inRange(`subsets[${i}].ports[${j}].port`, p.port, 1, 65535)));
  });
  return errs;
}

export const endpoints: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'Endpoints',
  plural: 'endpoints',
  singular: 'endpoints',
  shortNames: ['ep'],
  namespaced: true,
  definition: core('Endpoints'),
  statusSubresource: false,
  strategicMergePatch: true,
  columns: [column('Endpoints', 'Ready addresses with their ports.', (o) => formatEndpoints(asEndpoints(o).subsets)), ageColumn],
  applyDefaults(o) {
    for (const s of asEndpoints(o).subsets ?? []) for (const p of s.ports ?? []) p.protocol ??= 'TCP';
  },
  validate(o) {
    return validateSubsets(asEndpoints(o).subsets);
  },
  describe(o) {
    const lines = ['Subsets:'];
    for (const s of asEndpoints(o).subsets ?? []) {
      lines.push(`  Addresses:          ${(s.addresses ?? []).map((a) => a.ip).join(',') || '<none>'}`);
      lines.push(`  NotReadyAddresses:  ${(s.notReadyAddresses ?? []).map((a) => a.ip).join(',') || '<none>'}`);
      for (const p of s.ports ?? []) lines.push(`  Port:               ${p.name || '<unset>'}  ${p.port}/${p.protocol ?? 'TCP'}`);
    }
    return lines;
  },
};
