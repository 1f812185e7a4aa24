// TCP connections into a Pod's network namespace, for tcpSocket and httpGet
// probes. Node cannot setns(2) for one socket (its sockets are made on the
// libuv thread in the agent's own namespace), so each connection is a short
// `nsenter --net=<netns> busybox nc` whose stdin/stdout are the connection:
// the agent speaks the protocol itself over those pipes. One process per
// probe is cheap at the probes' periods (≥ 1 s) and leaves nothing running
// between probes, unlike a helper per Pod would. busybox is the
// busybox-static package the setup installs (scripts/debian-packages.json),
// nsenter is util-linux (Essential).
//
// Only for Pods without an address (an agent run without a node network):
// 127.0.0.1 inside the namespace is then the only place a container can be
// reached. Pods on the bridge are probed at their address from the node
// (direct-connect.ts), as the kubelet does.
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';

export const PROBE_ADDRESS = '127.0.0.1';
const NSENTER = 'nsenter';
const BUSYBOX = 'busybox';

/** busybox nc takes whole seconds for its connect timeout. */
const wholeSeconds = (ms: number): string => String(Math.max(1, Math.ceil(ms / 1000)));

/** stderr kept for the probe's failure message: nc's one line ("can't connect ...: Connection refused"). */
const MAX_STDERR = 1024;

function collect(stream: NodeJS.ReadableStream | null): () => string {
  let text = '';
  stream?.on('data', (b: Buffer) => {
    if (text.length < MAX_STDERR) text += b.toString('utf8');
  });
  return () => text.trim().slice(0, MAX_STDERR);
}

/**
 * Open and at once close a connection to port inside the namespace: `nc -e true`
 * runs `true` on the connected socket, so nc's exit status is 0 exactly when
 * the connect succeeded (the kubelet's tcpSocket check: connect, then close).
 */
export function tcpConnect(netnsPath: string, port: number, timeoutMs: number): Promise<{ ok: boolean; message: string }> {
  return new Promise((resolve) => {
    const child = spawn(NSENTER, [`--net=${netnsPath}`, BUSYBOX, 'nc', '-w', wholeSeconds(timeoutMs), PROBE_ADDRESS, String(port), '-e', 'true'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const stderr = collect(child.stderr);
    let settled = false;
    const settle = (ok: boolean, message: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ok, message });
    };
    const where = `dial tcp ${PROBE_ADDRESS}:${port}`;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(false, `${where}: i/o timeout`);
    }, timeoutMs);
    child.on('error', (e) => settle(false, `${where}: cannot run ${NSENTER}: ${e.message}`));
    child.on('close', (code, signal) =>
      settle(code === 0, code === 0 ? '' : `${where}: ${stderr() || (signal ? `nc ended by ${signal}` : `nc exited with ${code}`)}`),
    );
  });
}

export interface NetnsStream {
  /** The connection: what is written goes to the port, what the port answers is read. */
  stream: Duplex;
  /** Why the connection failed, as nc said it (empty while it has said nothing). */
  stderr(): string;
  /** End the connection (kills the relay; idempotent). */
  close(): void;
}

/** A byte stream to port inside the namespace, through nc's stdin and stdout. */
export function openStream(netnsPath: string, port: number, timeoutMs: number): NetnsStream {
  const child = spawn(NSENTER, [`--net=${netnsPath}`, BUSYBOX, 'nc', '-w', wholeSeconds(timeoutMs), PROBE_ADDRESS, String(port)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stderr = collect(child.stderr);
  // A relay that died (refused, killed) must surface as a stream error, never as an uncaught EPIPE.
  child.stdin.on('error', () => undefined);
  const stream = Duplex.from({ readable: child.stdout, writable: child.stdin });
  child.on('error', (e) => stream.destroy(new Error(`cannot run ${NSENTER}: ${e.message}`)));
  return {
    stream,
    stderr,
    close: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      stream.destroy();
    },
  };
}
