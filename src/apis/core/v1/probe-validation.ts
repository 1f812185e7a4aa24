// Semantic checks of probes and lifecycle handlers.
import type { FieldError } from '../../types.js';
import { forbidden, inRange, invalid, required } from './field-errors.js';
import { portName } from './name-validation.js';
import type { IntOrString, Probe } from './types.js';

const PROBE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'] as const;
const LIFECYCLE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'sleep'] as const;
/** Kubernetes' IsHTTPHeaderName, message included. */
const HTTP_HEADER_NAME = /^[-A-Za-z0-9]+$/;
const HTTP_HEADER_NAME_MSG = "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')";

type HTTPGet = NonNullable<Probe['httpGet']> & { httpHeaders?: Array<{ name?: string; value?: string }> };

/** A numeric port 1-65535 or a valid port name. */
export function validatePortRef(field: string, port: IntOrString | undefined): FieldError[] {
  if (port === undefined) return [];
  if (typeof port === 'number') return inRange(field, port, 1, 65535);
  if (/^\d+$/.test(port)) return inRange(field, Number(port), 1, 65535);
  const problem = portName(port);
  return problem ? [invalid(field, port, problem)] : [];
}

function handlerErrors(field: string, h: Record<string, unknown>, kinds: readonly string[]): FieldError[] {
  const set = kinds.filter((k) => h[k] !== undefined);
  if (set.length === 0) return [required(field, 'must specify a handler type')];
  if (set.length > 1) return [forbidden(`${field}.${set[1]}`, 'may not specify more than 1 handler type')];
  const errs: FieldError[] = [];
  const http = h.httpGet as HTTPGet | undefined;
  if (http) {
    // An empty path is not defaulted (only an absent one is): Kubernetes requires one.
    if (http.path === '') errs.push(required(`${field}.httpGet.path`));
    errs.push(...validatePortRef(`${field}.httpGet.port`, http.port));
    for (const header of http.httpHeaders ?? []) {
      if (header.name !== undefined && !HTTP_HEADER_NAME.test(header.name)) errs.push(invalid(`${field}.httpGet.httpHeaders`, header.name, HTTP_HEADER_NAME_MSG));
    }
  }
  const tcp = h.tcpSocket as Probe['tcpSocket'];
  if (tcp) errs.push(...validatePortRef(`${field}.tcpSocket.port`, tcp.port));
  const grpc = h.grpc as Probe['grpc'];
  if (grpc) errs.push(...inRange(`${field}.grpc.port`, grpc.port, 1, 65535));
  const exec = h.exec as Probe['exec'];
  if (exec && !(exec.command ?? []).length) errs.push(required(`${field}.exec.command`));
  return errs;
}

/**
 * Liveness and startup probes must have successThreshold 1: "healthy once" is all they can mean.
 * singleSuccess is false exactly for readiness probes, which only gate traffic and never kill: a
 * terminationGracePeriodSeconds there would mean nothing, so Kubernetes refuses it.
 */
export function validateProbe(field: string, probe: Probe | undefined, o: { singleSuccess: boolean }): FieldError[] {
  if (!probe) return [];
  const errs = handlerErrors(field, probe as Record<string, unknown>, PROBE_HANDLERS);
  if (o.singleSuccess && probe.successThreshold !== undefined && probe.successThreshold !== 1)
    errs.push(invalid(`${field}.successThreshold`, probe.successThreshold, 'must be 1'));
  if (probe.initialDelaySeconds !== undefined && probe.initialDelaySeconds < 0)
    errs.push(invalid(`${field}.initialDelaySeconds`, probe.initialDelaySeconds, 'must be greater than or equal to 0'));
  if (!o.singleSuccess && probe.terminationGracePeriodSeconds !== undefined)
    errs.push(invalid(`${field}.terminationGracePeriodSeconds`, probe.terminationGracePeriodSeconds, 'must not be set for readinessProbes'));
  else if (probe.terminationGracePeriodSeconds !== undefined && probe.terminationGracePeriodSeconds <= 0)
    errs.push(invalid(`${field}.terminationGracePeriodSeconds`, probe.terminationGracePeriodSeconds, 'must be greater than 0'));
  return errs;
}

export function validateLifecycle(field: string, lc: { postStart?: object; preStop?: object } | undefined): FieldError[] {
  if (!lc) return [];
  const errs: FieldError[] = [];
  if (lc.postStart) errs.push(...handlerErrors(`${field}.postStart`, lc.postStart as Record<string, unknown>, LIFECYCLE_HANDLERS));
  if (lc.preStop) errs.push(...handlerErrors(`${field}.preStop`, lc.preStop as Record<string, unknown>, LIFECYCLE_HANDLERS));
  return errs;
}
