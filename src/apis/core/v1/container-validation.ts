// Semantic checks of one container: image, ports, environment, mounts,
// resources and probes. Names and uniqueness across the pod are checked in
// pod-validation.ts, which knows all containers.
import type { FieldError } from '../../types.js';
import { duplicate, forbidden, inRange, invalid, notFound, notSupported, required } from './field-errors.js';
import { check, configKey, envVarName, portName } from './name-validation.js';
import { validateLifecycle, validateProbe } from './probe-validation.js';
import { parseQuantity } from './quantity.js';
import type { Container, EnvVar } from './types.js';

export type ContainerKind = 'init' | 'app' | 'ephemeral';

const ENV_SOURCES = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef', 'fileKeyRef'] as const;

function validateEnv(field: string, env: EnvVar[] | undefined): FieldError[] {
  const errs: FieldError[] = [];
  (env ?? []).forEach((e, i) => {
    const p = `${field}[${i}]`;
    errs.push(...check(`${p}.name`, e.name, envVarName));
    if (!e.valueFrom) return;
    if (e.value) errs.push(invalid(`${p}.valueFrom`, '', 'may not be specified when `value` is not empty'));
    const set = ENV_SOURCES.filter((s) => (e.valueFrom as Record<string, unknown>)[s] !== undefined);
    if (set.length === 0) errs.push(invalid(`${p}.valueFrom`, '', `must specify one of: ${ENV_SOURCES.map((s) => `\`${s}\``).join(', ')}`));
    else if (set.length > 1) errs.push(invalid(`${p}.valueFrom`, '', 'may not have more than one field specified at a time'));
    const key = (e.valueFrom.configMapKeyRef ?? e.valueFrom.secretKeyRef) as { key?: string } | undefined;
    if (key?.key !== undefined) errs.push(...check(`${p}.valueFrom.${e.valueFrom.configMapKeyRef ? 'configMapKeyRef' : 'secretKeyRef'}.key`, key.key, configKey));
  });
  return errs;
}

function validateResources(field: string, c: Container): FieldError[] {
  const errs: FieldError[] = [];
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  for (const [which, list] of [['requests', req], ['limits', lim]] as const) {
    for (const [name, v] of Object.entries(list)) {
      const q = parseQuantity(v);
      if (q === undefined) errs.push(invalid(`${field}.${which}[${name}]`, v, 'quantities must match the regular expression \'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$\''));
      else if (q < 0) errs.push(invalid(`${field}.${which}[${name}]`, v, 'must be greater than or equal to 0'));
    }
  }
  for (const [name, v] of Object.entries(req)) {
    const r = parseQuantity(v);
    const l = parseQuantity(lim[name]);
    if (r !== undefined && l !== undefined && r > l)
      errs.push(invalid(`${field}.requests`, String(v), `must be less than or equal to ${name} limit of ${String(lim[name])}`));
  }
  return errs;
}

export function validateContainer(field: string, c: Container, kind: ContainerKind, volumes: Set<string>, hostNetwork: boolean): FieldError[] {
  const errs: FieldError[] = [];
  if (!c.image || !c.image.trim()) errs.push(required(`${field}.image`));

  const portNames = new Set<string>();
  (c.ports ?? []).forEach((p, i) => {
    const pp = `${field}.ports[${i}]`;
    errs.push(...inRange(`${pp}.containerPort`, p.containerPort, 1, 65535));
    if (p.hostPort) errs.push(...inRange(`${pp}.hostPort`, p.hostPort, 1, 65535));
    if (hostNetwork && p.hostPort !== undefined && p.hostPort !== p.containerPort)
      errs.push(invalid(`${pp}.hostPort`, p.hostPort, '`hostPort` must match `containerPort` when `hostNetwork` is true'));
    if (p.name !== undefined) {
      errs.push(...check(`${pp}.name`, p.name, portName));
      if (portNames.has(p.name)) errs.push(duplicate(`${pp}.name`, p.name));
      portNames.add(p.name);
    }
  });

  errs.push(...validateEnv(`${field}.env`, c.env));
  (c.envFrom ?? []).forEach((e, i) => {
    const set = [e.configMapRef, e.secretRef].filter((x) => x !== undefined).length;
    if (set !== 1) errs.push(invalid(`${field}.envFrom[${i}]`, '', 'must specify one of: `configMapRef` or `secretRef`'));
  });

  const mountPaths = new Set<string>();
  (c.volumeMounts ?? []).forEach((m, i) => {
    const mp = `${field}.volumeMounts[${i}]`;
    if (m.name !== undefined && !volumes.has(m.name)) errs.push(notFound(`${mp}.name`, m.name));
    if (m.mountPath !== undefined) {
      if (!m.mountPath) errs.push(required(`${mp}.mountPath`));
      else if (mountPaths.has(m.mountPath)) errs.push(invalid(`${mp}.mountPath`, m.mountPath, 'must be unique'));
      mountPaths.add(m.mountPath);
    }
    if (m.subPath !== undefined && (m.subPath.startsWith('/') || m.subPath.split('/').includes('..')))
      errs.push(invalid(`${mp}.subPath`, m.subPath, "must be a relative path without '..'"));
    if (m.subPath && m.subPathExpr) errs.push(invalid(`${mp}.subPathExpr`, m.subPathExpr, 'subPathExpr and subPath are mutually exclusive'));
  });
  (c.volumeDevices ?? []).forEach((d, i) => {
    if (d.name !== undefined && !volumes.has(d.name)) errs.push(notFound(`${field}.volumeDevices[${i}].name`, d.name));
  });

  errs.push(...validateResources(`${field}.resources`, c));

  const sidecar = kind === 'init' && c.restartPolicy === 'Always';
  if (c.restartPolicy !== undefined) {
    if (kind !== 'init') errs.push(forbidden(`${field}.restartPolicy`, 'may not be set for non-init containers'));
    else if (c.restartPolicy !== 'Always') errs.push(notSupported(`${field}.restartPolicy`, c.restartPolicy, ['Always']));
  }
  // Probes make sense only for containers that keep running next to others.
  const probesAllowed = kind === 'app' || sidecar;
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
    if (!c[probe]) continue;
    if (!probesAllowed) {
      errs.push(forbidden(`${field}.${probe}`, `may not be set for ${kind} containers`));
      continue;
    }
    errs.push(...validateProbe(`${field}.${probe}`, c[probe], { singleSuccess: probe !== 'readinessProbe' }));
  }
  if (c.lifecycle) {
    if (kind === 'app' || sidecar) errs.push(...validateLifecycle(`${field}.lifecycle`, c.lifecycle));
    else errs.push(forbidden(`${field}.lifecycle`, `may not be set for ${kind} containers`));
  }
  return errs;
}
