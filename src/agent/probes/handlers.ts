// One run of a probe's handler against one container, as the kubelet's
// prober does it: exec (a command in the container; exit 0 = success),
// tcpSocket (a connect succeeds) and httpGet (a GET answered 200-399). Every
// run is bounded by the probe's timeoutSeconds; a timeout is a failure.
// 'unknown' is the kubelet's "probe error": the result is thrown away, neither
// success nor failure counts (gRPC probes, which Lodge does not run yet).
import { request } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import type { Readable } from 'node:stream';
import type { ContainerPort, IntOrString, Probe } from '../../apis/core/v1/types.js';
import type { ExecProcess } from '../runtime/driver.js';
import { joinHostPort, openStreamDirect, tcpConnectDirect } from './direct-connect.js';
import { PROBE_ADDRESS, openStream, tcpConnect } from './netns-connect.js';

export type ProbeOutcome = 'success' | 'failure' | 'unknown';
export interface ProbeResult {
  outcome: ProbeOutcome;
  /** Why it failed (the command's output, the HTTP status, the connect error); empty on success. */
  message: string;
}

/** The Probe fields the handlers read (httpHeaders is not in the shared core/v1 type). */
export type ProbeSpec = Omit<Probe, 'httpGet'> & {
  httpGet?: NonNullable<Probe['httpGet']> & { httpHeaders?: Array<{ name?: string; value?: string }> };
};

export interface ProbeTarget {
  /** The driver's id of the container (exec runs there). */
  containerId: string;
  container: string;
  /** The Pod's network namespace: tcpSocket and httpGet connect inside it when the Pod has no address. */
  netnsPath: string;
  /** The Pod's address on the node's bridge: tcpSocket and httpGet connect to it from the node, as the kubelet does. */
  podIP?: string;
  /** The container's ports, for named probe ports. */
  ports: ContainerPort[];
  /** The driver's exec (a non-tty process in the running container). */
  exec(id: string, args: string[]): Promise<ExecProcess>;
}

/** The kubelet keeps this much of an exec probe's output for its message. */
const MAX_OUTPUT = 10 * 1024;
/** What the kubelet sends as User-Agent: kube-probe/<major>.<minor> of the version Lodge reports (v1.33.0-lodge). */
const USER_AGENT = 'kube-probe/1.33';

const success = (): ProbeResult => ({ outcome: 'success', message: '' });
const failure = (message: string): ProbeResult => ({ outcome: 'failure', message });

/** A number, a numeric string, or a container port's name (as the kubelet resolves it). */
export function resolvePort(port: IntOrString | undefined, ports: ContainerPort[]): number | string {
  if (typeof port === 'number') return port;
  if (port === undefined) return 'no port given';
  if (/^\d+$/.test(port)) return Number(port);
  const named = ports.find((p) => p.name === port && (p.protocol ?? 'TCP') === 'TCP');
  return named?.containerPort ?? `couldn't find port: ${port} in the container's ports`;
}

export async function runProbe(probe: ProbeSpec, target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  if (probe.exec) return execProbe(probe.exec.command ?? [], target, timeoutMs);
  if (probe.tcpSocket) {
    const port = resolvePort(probe.tcpSocket.port, target.ports);
    if (typeof port === 'string') return failure(port);
    const host = probeHost(probe.tcpSocket.host, target);
    const r = host ? await tcpConnectDirect(host, port, timeoutMs) : await tcpConnect(target.netnsPath, port, timeoutMs);
    return r.ok ? success() : failure(r.message);
  }
  if (probe.httpGet) return httpProbe(probe.httpGet, target, timeoutMs);
  if (probe.grpc) return { outcome: 'unknown', message: 'gRPC probes are not supported by this node yet' };
  return { outcome: 'unknown', message: 'missing probe handler' };
}

/**
 * Where a tcpSocket or httpGet probe connects from the node, as the kubelet:
 * the probe's host, else the Pod's address. Undefined: the Pod has no
 * address (no node network), so 127.0.0.1 inside its namespace is the only
 * place the container can be reached.
 */
function probeHost(explicit: string | undefined, t: ProbeTarget): string | undefined {
  return explicit || t.podIP || undefined;
}

/** Up to MAX_OUTPUT bytes of stdout and stderr together, in arrival order. */
function captureOutput(streams: Array<Readable | undefined>): () => string {
  const chunks: Buffer[] = [];
  let size = 0;
  for (const s of streams) {
    s?.on('data', (b: Buffer) => {
      // Read past the limit (and drop it) so the process never blocks on a full pipe.
      if (size >= MAX_OUTPUT) return;
      chunks.push(b.subarray(0, MAX_OUTPUT - size));
      size += Math.min(b.length, MAX_OUTPUT - size);
    });
    s?.on('error', () => undefined);
  }
  return () => Buffer.concat(chunks).toString('utf8').trim();
}

async function execProbe(command: string[], t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const what = `command ${JSON.stringify(command.join(' '))}`;
  let timedOut = false;
  let proc: ExecProcess | undefined;
  // The timer covers starting the process too: runc exec on a loaded host can itself be slow.
  const timer = setTimeout(() => {
    timedOut = true;
    proc?.kill();
  }, timeoutMs);
  try {
    try {
      proc = await t.exec(t.containerId, command);
    } catch (e) {
      return failure(`${what}: ${(e as Error).message}`);
    }
    if (timedOut) proc.kill();
    const output = captureOutput([proc.stdout, proc.stderr]);
    let exitCode: number;
    try {
      ({ exitCode } = await proc.wait());
    } catch (e) {
      return failure(`${what}: ${(e as Error).message}`);
    }
    if (timedOut) return failure(`${what} timed out after ${timeoutMs / 1000}s`);
    if (exitCode === 0) return success();
    const out = output();
    return failure(`${what} exited with ${exitCode}${out ? `: ${out}` : ''}`);
  } finally {
    clearTimeout(timer);
  }
}

function httpProbe(action: NonNullable<ProbeSpec['httpGet']>, t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const port = resolvePort(action.port, t.ports);
  if (typeof port === 'string') return Promise.resolve(failure(port));
  const https = action.scheme === 'HTTPS';
  const path = action.path ? (action.path.startsWith('/') ? action.path : `/${action.path}`) : '/';
  const host = probeHost(action.host, t);
  const url = `${https ? 'https' : 'http'}://${joinHostPort(host ?? PROBE_ADDRESS, port)}${path}`;
  // The kubelet's defaults, which the probe's own headers replace (Host included).
  const headers: Record<string, string> = { 'User-Agent': USER_AGENT, Accept: '*/*', Connection: 'close' };
  for (const h of action.httpHeaders ?? []) {
    if (!h.name) continue;
    const same = Object.keys(headers).find((k) => k.toLowerCase() === h.name!.toLowerCase());
    if (same) delete headers[same];
    headers[h.name] = h.value ?? '';
  }
  const conn = host ? openStreamDirect(host, port) : openStream(t.netnsPath, port, timeoutMs);
  return new Promise((resolve) => {
    let settled = false;
    const settle = (r: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      conn.close();
      resolve(r);
    };
    const timer = setTimeout(() => settle(failure(`Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`)), timeoutMs);
    // HTTPS: any certificate is accepted, as the kubelet does (a probe checks liveness, not identity).
    const socket = https ? tlsConnect({ socket: conn.stream, rejectUnauthorized: false }) : conn.stream;
    // Redirects are not followed: a 3xx is success as it stands (the kubelet follows same-host redirects
    // and judges the final answer; it also counts a redirect elsewhere as success).
    const req = request({ createConnection: () => socket, method: 'GET', host: host ?? PROBE_ADDRESS, port, path, headers }, (res) => {
      const code = res.statusCode ?? 0;
      res.resume();
      settle(code >= 200 && code < 400 ? success() : failure(`HTTP probe failed with statuscode: ${code}`));
    });
    req.on('error', (e) => settle(failure(`Get "${url}": ${conn.stderr() || e.message}`)));
    req.end();
  });
}
