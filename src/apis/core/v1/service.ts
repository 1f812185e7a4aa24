// Service: a stable virtual IP and DNS name in front of a set of pods.
import { isIP } from 'node:net';
import { ageColumn, column } from '../../columns.js';
import { arr, bool, int32, obj, str, stringMap, enumOf, intOrString, type Schema } from '../../schema.js';
import type { FieldError, KubeObject, ResourceType } from '../../types.js';
import { conditionList, kindDefinition } from '../../meta/v1.js';
import { protocol } from './container.js';
import { duplicate, forbidden, immutable, inRange, invalid, required } from './field-errors.js';
import { formatLabelMap } from './label-selector.js';
import { check, dns1123Label, dns1123Subdomain, validateLabelMap } from './name-validation.js';
import { atomicList, core, coreGVK, coreRef, withDefault } from './names.js';
import { validatePortRef } from './probe-validation.js';
import type { Service, ServiceSpec } from './types.js';

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;

const trafficPolicy = (what: string): Schema => enumOf(['Cluster', 'Local'], what);

export const serviceDefinitions: Record<string, Schema> = {
  [core('ServicePort')]: obj(
    {
      name: str('Name of the port (IANA service name); required when the service has more than one port.'),
      protocol: protocol('the port'),
      appProtocol: str('Application protocol, e.g. http, kubernetes.io/h2c; a hint for proxies.'),
      port: int32('Port the service listens on.'),
      targetPort: intOrString('Port of the pods traffic goes to: a number, or the name of a container port. Defaults to port.'),
      nodePort: int32('Port opened on every node for NodePort and LoadBalancer services; allocated when unset.'),
    },
    { required: ['port'], description: 'A port of a service.' },
  ),
  [core('ClientIPConfig')]: obj(
    { timeoutSeconds: withDefault(int32('Seconds a client sticks to the same pod, 1-86400.'), 10800) },
    { description: 'Settings for ClientIP session affinity.' },
  ),
  [core('SessionAffinityConfig')]: obj(
    { clientIP: coreRef('ClientIPConfig', 'Settings for ClientIP affinity.') },
    { description: 'Settings of session affinity.' },
  ),
  [core('PortStatus')]: obj(
    {
      port: int32('Port number.'),
      protocol: enumOf(['TCP', 'UDP', 'SCTP'], 'Protocol of the port.'),
      error: str('Problem with this port, as a CamelCase reason.'),
    },
    { required: ['port', 'protocol'], description: 'State of one load balancer port.' },
  ),
  [core('LoadBalancerIngress')]: obj(
    {
      ip: str('IP address of the load balancer.'),
      hostname: str('Host name of the load balancer.'),
      ipMode: enumOf(['VIP', 'Proxy'], 'Whether traffic arrives with the load balancer IP as destination (VIP) or is proxied.'),
      ports: atomicList(coreRef('PortStatus'), 'State of each port.'),
    },
    { description: 'An address of a load balancer.' },
  ),
  [core('LoadBalancerStatus')]: obj(
    { ingress: atomicList(coreRef('LoadBalancerIngress'), 'Addresses of the load balancer.') },
    { description: 'State of a load balancer.' },
  ),
  [core('ServiceStatus')]: obj(
    {
      loadBalancer: coreRef('LoadBalancerStatus', 'The load balancer, for type LoadBalancer.'),
      conditions: conditionList('Current conditions of the service.'),
    },
    { description: 'Observed state of a service.' },
  ),
  [core('ServiceSpec')]: obj(
    {
      ports: arr(coreRef('ServicePort'), {
        mergeKey: 'port',
        mapKeys: ['port', 'protocol'],
        description: 'Ports the service exposes.',
      }),
      selector: { ...stringMap('Pods with these labels receive the traffic; without a selector, Endpoints are managed by hand.'), 'x-kubernetes-map-type': 'atomic' },
      clusterIP: str('Virtual IP of the service: allocated when empty, "None" for a headless service. Cannot change.'),
      clusterIPs: atomicList(str(), 'Virtual IPs, one per IP family; the first equals clusterIP.'),
      type: withDefault(enumOf([...SERVICE_TYPES], 'How the service is exposed.'), 'ClusterIP'),
      externalIPs: atomicList(str(), 'Extra IPs, routed to a node by someone else, that also reach the service.'),
      sessionAffinity: withDefault(enumOf(['ClientIP', 'None'], 'ClientIP sends each client to the same pod.'), 'None'),
      loadBalancerIP: str('Deprecated: IP asked of the load balancer.'),
      loadBalancerSourceRanges: atomicList(str(), 'CIDRs allowed through the load balancer.'),
      externalName: str('DNS name the service is a CNAME for (type ExternalName).'),
      externalTrafficPolicy: trafficPolicy('For NodePort and LoadBalancer: Local keeps external traffic on the node it arrived at, preserving the client IP.'),
      healthCheckNodePort: int32('Node port answering health checks, for externalTrafficPolicy Local.'),
      publishNotReadyAddresses: bool('Publish pods in DNS and endpoints even before they are ready.'),
      sessionAffinityConfig: coreRef('SessionAffinityConfig', 'Settings of session affinity.'),
      ipFamilies: atomicList(enumOf(['IPv4', 'IPv6']), 'IP families of the service, in order.'),
      ipFamilyPolicy: enumOf(['SingleStack', 'PreferDualStack', 'RequireDualStack'], 'How many IP families the service gets.'),
      allocateLoadBalancerNodePorts: bool('Whether LoadBalancer services get node ports.'),
      loadBalancerClass: str('Load balancer implementation to use.'),
      internalTrafficPolicy: trafficPolicy('Local keeps traffic from inside the cluster on the node it started on.'),
      trafficDistribution: str('Preference for how traffic is spread, e.g. PreferClose.'),
    },
    { description: 'Desired state of a service.' },
  ),
  [core('Service')]: kindDefinition(coreGVK('Service'), 'A named, load-balanced network endpoint for a set of pods.', {
    spec: coreRef('ServiceSpec', 'Desired state of the service.'),
    status: coreRef('ServiceStatus', 'Observed state of the service.'),
  }),
};

const asService = (o: KubeObject): Service => o as Service;
const usesNodePorts = (t: string | undefined): boolean => t === 'NodePort' || t === 'LoadBalancer';

function applyServiceDefaults(spec: ServiceSpec | undefined): void {
  if (!spec) return;
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  for (const p of spec.ports ?? []) {
    p.protocol ??= 'TCP';
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  if (spec.type !== 'ExternalName') spec.internalTrafficPolicy ??= 'Cluster';
  if (usesNodePorts(spec.type)) spec.externalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
  if (spec.sessionAffinity === 'ClientIP') {
    spec.sessionAffinityConfig ??= {};
    spec.sessionAffinityConfig.clientIP ??= {};
    spec.sessionAffinityConfig.clientIP.timeoutSeconds ??= 10800;
  }
}

function validateServiceSpec(spec: ServiceSpec | undefined): FieldError[] {
  if (!spec) return [required('spec')];
  const errs: FieldError[] = [];
  const headless = spec.clusterIP === 'None';
  const ports = spec.ports ?? [];
  if (spec.type === 'ExternalName') {
    if (!spec.externalName) errs.push(required('spec.externalName'));
    else errs.push(...check('spec.externalName', spec.externalName.replace(/\.$/, ''), dns1123Subdomain));
    if (spec.clusterIP) errs.push(forbidden('spec.clusterIP', 'may not be set for ExternalName services'));
  } else {
    if (!ports.length && !headless) errs.push(required('spec.ports'));
    if (spec.clusterIP && !headless && !isIP(spec.clusterIP))
      errs.push(invalid('spec.clusterIP', spec.clusterIP, 'must be empty, \'None\', or a valid IP address'));
    if (headless && usesNodePorts(spec.type)) errs.push(invalid('spec.clusterIP', 'None', `may not be set to 'None' for ${spec.type} services`));
  }
  if (spec.clusterIP && spec.clusterIPs?.length && spec.clusterIPs[0] !== spec.clusterIP)
    errs.push(invalid('spec.clusterIPs', spec.clusterIPs, 'must have the same value as spec.clusterIP as its first element'));

  const names = new Set<string>();
  const keys = new Set<string>();
  const nodePorts = new Set<string>();
  ports.forEach((p, i) => {
    const pp = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) errs.push(required(`${pp}.name`));
    if (p.name) {
      // Service port names are DNS-1123 labels (not IANA names as container ports are): `kubectl create service --tcp=80:8080` names its port "80-8080".
      errs.push(...check(`${pp}.name`, p.name, dns1123Label));
      if (names.has(p.name)) errs.push(duplicate(`${pp}.name`, p.name));
      names.add(p.name);
    }
    errs.push(...inRange(`${pp}.port`, p.port, 1, 65535));
    if (p.targetPort !== undefined) errs.push(...validatePortRef(`${pp}.targetPort`, p.targetPort));
    if (p.nodePort) {
      if (!usesNodePorts(spec.type)) errs.push(forbidden(`${pp}.nodePort`, `may not be used when \`type\` is '${spec.type ?? 'ClusterIP'}'`));
      else errs.push(...inRange(`${pp}.nodePort`, p.nodePort, 1, 65535));
      const np = `${p.nodePort}/${p.protocol ?? 'TCP'}`;
      if (nodePorts.has(np)) errs.push(duplicate(`${pp}.nodePort`, p.nodePort));
      nodePorts.add(np);
    }
    const key = `${p.port}/${p.protocol ?? 'TCP'}`;
    if (keys.has(key)) errs.push(duplicate(pp, `${p.port}/${p.protocol ?? 'TCP'}`));
    keys.add(key);
  });

  errs.push(...validateLabelMap('spec.selector', spec.selector));
  (spec.externalIPs ?? []).forEach((ip, i) => {
    if (!isIP(ip)) errs.push(invalid(`spec.externalIPs[${i}]`, ip, 'must be a valid IP address'));
  });
  if (spec.externalTrafficPolicy && !usesNodePorts(spec.type))
    errs.push(invalid('spec.externalTrafficPolicy', spec.externalTrafficPolicy, 'may only be set when `type` is \'NodePort\' or \'LoadBalancer\''));
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (spec.sessionAffinity === 'ClientIP') errs.push(...inRange('spec.sessionAffinityConfig.clientIP.timeoutSeconds', timeout, 1, 86400));
  else if (spec.sessionAffinityConfig)
    errs.push(forbidden('spec.sessionAffinityConfig', 'must not be set when `sessionAffinity` is None'));
  return errs;
}

function validateServiceUpdate(spec: ServiceSpec | undefined, old: ServiceSpec | undefined): FieldError[] {
  if (!spec || !old || spec.type === 'ExternalName' || old.type === 'ExternalName') return [];
  // An update that leaves clusterIP empty keeps the allocated one (prepareForUpdate).
  if (old.clusterIP && spec.clusterIP !== old.clusterIP) return [immutable('spec.clusterIP', spec.clusterIP ?? '')];
  return [];
}

/**
 * On a type change, fields the new type cannot have are dropped when the
 * client left them as they were (Kubernetes' dropTypeDependentFields): a
 * patch of just `type: ClusterIP` on a NodePort Service loses its node
 * ports instead of failing validation; one to ExternalName loses its IPs.
 */
function dropTypeDependentFields(spec: ServiceSpec, prev: ServiceSpec): void {
  if ((spec.type ?? 'ClusterIP') === (prev.type ?? 'ClusterIP')) return;
  if (spec.type === 'ExternalName' && (spec.clusterIP ?? '') === (prev.clusterIP ?? '')) {
    delete spec.clusterIP;
    delete spec.clusterIPs;
    delete spec.ipFamilies;
    delete spec.ipFamilyPolicy;
  }
  if (!usesNodePorts(spec.type)) {
    for (const p of spec.ports ?? []) {
      const same = (prev.ports ?? []).find((q) => q.port === p.port && (q.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
      if (p.nodePort && same?.nodePort === p.nodePort) delete p.nodePort;
    }
    if (spec.healthCheckNodePort === prev.healthCheckNodePort) delete spec.healthCheckNodePort;
    if (spec.externalTrafficPolicy === prev.externalTrafficPolicy) delete spec.externalTrafficPolicy;
  }
  if (spec.type !== 'LoadBalancer' && spec.allocateLoadBalancerNodePorts === prev.allocateLoadBalancerNodePorts) delete spec.allocateLoadBalancerNodePorts;
}

function externalIPs(s: Service): string {
  const spec = s.spec ?? {};
  const extra = spec.externalIPs ?? [];
  switch (spec.type) {
    case 'ExternalName':
      return spec.externalName ?? '<none>';
    case 'LoadBalancer': {
      const lb = (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname || '').filter(Boolean);
      const all = [...lb, ...extra];
      return all.length ? all.join(',') : '<pending>';
    }
    default:
      return extra.length ? extra.join(',') : '<none>';
  }
}

function portsCell(s: Service): string {
  const ports = s.spec?.ports ?? [];
  if (!ports.length) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

export const service: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'Service',
  plural: 'services',
  singular: 'service',
  shortNames: ['svc'],
  categories: ['all'],
  namespaced: true,
  nameFormat: 'dns1035-label',
  definition: core('Service'),
  statusSubresource: true,
  strategicMergePatch: true,
  columns: [
    column('Type', 'How the service is exposed.', (o) => asService(o).spec?.type ?? 'ClusterIP'),
    column('Cluster-IP', 'The service\'s virtual IP.', (o) => asService(o).spec?.clusterIP || '<none>'),
    column('External-IP', 'Addresses reaching the service from outside.', (o) => externalIPs(asService(o))),
    column('Port(s)', 'Ports of the service (port[:nodePort]/protocol).', (o) => portsCell(asService(o))),
    ageColumn,
    column('Selector', 'Labels of the pods behind the service.', (o) => formatLabelMap(asService(o).spec?.selector), { priority: 1 }),
  ],
  selectableFields: {
    'spec.clusterIP': (o) => asService(o).spec?.clusterIP ?? '',
    'spec.type': (o) => asService(o).spec?.type ?? '',
  },
  prepareForUpdate(o, old) {
    const spec = asService(o).spec;
    const prev = asService(old).spec;
    if (spec && prev) dropTypeDependentFields(spec, prev);
    // As Kubernetes does: an update that leaves allocated fields empty keeps them.
    if (!spec || !prev || spec.type === 'ExternalName' || prev.type === 'ExternalName') return;
    if (!spec.clusterIP && prev.clusterIP) spec.clusterIP = prev.clusterIP;
    if (!spec.clusterIPs?.length && prev.clusterIPs?.length) spec.clusterIPs = prev.clusterIPs;
    if (!spec.ipFamilies?.length && prev.ipFamilies?.length) spec.ipFamilies = prev.ipFamilies;
    spec.ipFamilyPolicy ??= prev.ipFamilyPolicy;
    for (const p of spec.ports ?? []) {
      if (p.nodePort) continue;
      const same = (prev.ports ?? []).find((q) => q.port === p.port && (q.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
      if (same?.nodePort && (spec.type === 'NodePort' || spec.type === 'LoadBalancer')) p.nodePort = same.nodePort;
    }
  },
  applyDefaults(o) {
    applyServiceDefaults(asService(o).spec);
  },
  validate(o, old) {
    const errs = validateServiceSpec(asService(o).spec);
    if (old) errs.push(...validateServiceUpdate(asService(o).spec, asService(old).spec));
    return errs;
  },
  describe(o) {
    const s = asService(o);
    return [
      `Selector:          ${formatLabelMap(s.spec?.selector)}`,
      `Type:              ${s.spec?.type ?? 'ClusterIP'}`,
      `IP Family Policy:  ${s.spec?.ipFamilyPolicy ?? '<none>'}`,
      `IP Families:       ${(s.spec?.ipFamilies ?? []).join(',') || '<none>'}`,
      `IP:                ${s.spec?.clusterIP ?? '<none>'}`,
      `IPs:               ${(s.spec?.clusterIPs ?? []).join(',') || '<none>'}`,
      ...(s.spec?.ports ?? []).flatMap((p) => [
        `Port:              ${p.name || '<unset>'}  ${p.port}/${p.protocol ?? 'TCP'} -> ${String(p.targetPort ?? p.port)}`,
        ...(p.nodePort ? [`NodePort:          ${p.name || '<unset>'}  ${p.nodePort}/${p.protocol ?? 'TCP'}`] : []),
      ]),
      `Session Affinity:  ${s.spec?.sessionAffinity ?? 'None'}`,
    ];
  },
};
