// Port-forward end to end, against a real `lodge up`: kubectl 1.33 (SPDY
// tunnelled in WebSocket) and an older kubectl (SPDY/3.1 over an HTTP
// Upgrade) forward to a busybox httpd Pod; two connections at once and a
// large answer (flow control); a refused port gives the kubelet's error;
// svc/NAME as kubectl resolves it; `lodge port-forward` to a Pod, with a
// refused port beside a working one in one tunnel, and to a system container
// Instance; @kubernetes/client-node's PortForward (the channel protocol).
// Only 127.0.0.1 and the Pods' bridge addresses are contacted.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { LODGE_MAIN, installedKubectlVersions, lodgeCli, runKubectl, startKubectl, waitFor, type KubectlChild, type Lodge } from './harness.js';
import { useWorkloadLodge } from './workload-lodge.js';

const NODE = `lodge-pf-${process.pid}`;
const forwarders: Array<{ stop(): Promise<void> }> = [];
const servers: Server[] = [];
const w = useWorkloadLodge('lodge-pf-', NODE, {
  // info: the tests read which transport each session used from the logs.
  env: { LODGE_LOG_LEVEL: 'info' },
  afterStart: (l) => startWeb(l),
  afterStop: async () => {
    await Promise.all(forwarders.map((f) => f.stop()));
    for (const s of servers) s.close();
  },
});
const { pods, instances } = w;
const BIG = 3 * 1024 * 1024;
const versions = installedKubectlVersions();
const newest = versions[versions.length - 1];
/** The newest kubectl that still speaks plain SPDY by default (port-forward over WebSocket became the default in 1.31). */
const older = versions.filter((v) => Number(v.split('.')[1]) <= 30).pop();

const httpd = {
  name: 'c',
  image: 'busybox',
  command: ['sh', '-c', `mkdir -p /www && echo hello-from-web > /www/index.html && dd if=/dev/zero of=/www/big bs=1024 count=${BIG / 1024} 2>/dev/null && exec httpd -f -p 8080 -h /www`],
  ports: [{ name: 'http', containerPort: 8080 }],
};

/** GET a path through a forwarded local port; every request on its own connection. */
function get(port: number, path = '/'): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close' }, timeout: 30_000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET 127.0.0.1:${port}${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Connect to a forwarded port and wait until the forwarder closes the connection (what a refused remote port looks like locally). */
function connectUntilClosed(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 30_000 });
    req.on('response', (res) => reject(new Error(`a refused port answered ${res.statusCode}`)));
    req.on('error', (e) => resolve(e.message));
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.end();
  });
}

const forwardedPort = (out: string, remote: number): number | undefined => {
  const m = new RegExp(`Forwarding from 127\\.0\\.0\\.1:(\\d+) -> ${remote}\\n`).exec(out);
  return m ? Number(m[1]) : undefined;
};

function kubectlForward(args: string[], version?: string): KubectlChild {
  const child = startKubectl(w.lodge, ['port-forward', ...args], { version });
  forwarders.push(child);
  return child;
}

/** `lodge port-forward` as a child process, killed by PID in after(). */
function lodgeForward(args: string[]): { proc: ChildProcess; out: () => string; err: () => string; until: (re: RegExp, what: string) => Promise<RegExpExecArray> } {
  const proc = spawn(process.execPath, [LODGE_MAIN, '--kubeconfig', w.lodge.kubeconfig, 'port-forward', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((resolve) => proc.once('close', () => resolve()));
  forwarders.push({
    stop: async () => {
      // ChildProcess.kill, not process.kill: the child may be gone before node noticed (ESRCH).
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  });
  return {
    proc,
    out: () => out,
    err: () => err,
    until: (re, what) =>
      waitFor(what, async () => {
        if (proc.exitCode !== null) throw new Error(`lodge port-forward exited (${proc.exitCode}) before ${what}\n${out}\n${err}`);
        return re.exec(out + err) ?? undefined;
      }, 30_000),
  };
}

/** The busybox httpd Pod "web" and its Service, answering. */
async function startWeb(l: Lodge): Promise<void> {
  await pods.create('web', { containers: [httpd] }, { labels: { app: 'web' } });
  const svc = runKubectl(l, ['create', 'service', 'clusterip', 'web', '--tcp=80:8080']);
  assert.equal(svc.code, 0, svc.stderr);
  await pods.waitFor('web', 'running with an IP', (p) => p?.status?.phase === 'Running' && !!p.status.podIP, 120_000);
  // httpd starts after the file is written: wait until it answers, through the Pod's address as the agent will.
  await waitFor('httpd listening', async () => {
    const r = runKubectl(l, ['exec', 'web', '--', 'sh', '-c', 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 2 127.0.0.1 8080'], { timeoutMs: 20_000 });
    return r.code === 0 && r.stdout.includes('hello-from-web');
  }, 60_000);
}

describe('kubectl port-forward', () => {
  test(`kubectl ${newest} (WebSocket tunnel): GETs, two at once, a large answer`, async () => {
    const pf = kubectlForward(['pod/web', ':8080'], newest);
    const port = forwardedPort(await pf.until((o) => forwardedPort(o, 8080) !== undefined, 'Forwarding from'), 8080)!;
    const one = await get(port);
    assert.equal(one.status, 200);
    assert.equal(one.body.toString(), 'hello-from-web\n');
    const [a, b] = await Promise.all([get(port), get(port, '/big')]);
    assert.equal(a.body.toString(), 'hello-from-web\n');
    assert.equal(b.status, 200);
    assert.equal(b.body.length, BIG);
    assert.ok(b.body.every((x) => x === 0));
    assert.match(w.lodge.logs(), /"msg":"port-forward session started"[^\n]*"transport":"websocket"/);
    await pf.stop();
  });

  test(`kubectl ${older ?? '(none older than 1.31)'} (SPDY over HTTP Upgrade): GETs`, { skip: !older }, async () => {
    const pf = kubectlForward(['pod/web', ':8080'], older);
    const port = forwardedPort(await pf.until((o) => forwardedPort(o, 8080) !== undefined, 'Forwarding from'), 8080)!;
    const [a, b] = await Promise.all([get(port), get(port, '/big')]);
    assert.equal(a.body.toString(), 'hello-from-web\n');
    assert.equal(b.body.length, BIG);
    assert.match(w.lodge.logs(), /"msg":"port-forward session started"[^\n]*"transport":"spdy"/);
    await pf.stop();
  });

  test('a refused port: kubectl prints the error as the kubelet words it', async () => {
    const pf = kubectlForward(['pod/web', ':9999'], newest);
    const port = forwardedPort(await pf.until((o) => forwardedPort(o, 9999) !== undefined, 'Forwarding from'), 9999)!;
    await connectUntilClosed(port);
    await pf.untilStderr((e) => /error forwarding port 9999 to pod web, uid [0-9a-f-]+: dial tcp [\d.]+:9999: connect: connection refused/.test(e), 'the refusal');
    await pf.stop();
  });

  test('svc/NAME: kubectl picks a Pod of the Service and its target port', async () => {
    const pf = kubectlForward(['svc/web', ':80'], newest);
    const out = await pf.until((o) => forwardedPort(o, 8080) !== undefined, 'Forwarding from ... -> 8080');
    const r = await get(forwardedPort(out, 8080)!);
    assert.equal(r.body.toString(), 'hello-from-web\n');
    await pf.stop();
  });

  test('without an upgrade, or to a Pod that does not exist: a Status', () => {
    const r = runKubectl(w.lodge, ['port-forward', 'pod/nope', ':8080'], { version: newest, timeoutMs: 30_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pods "nope" not found/);
  });
});

describe('lodge port-forward', () => {
  test('to a Pod: a refused port beside a working one, in one tunnel that stays up', async () => {
    const pf = lodgeForward(['pod/web', ':8080', ':9999']);
    const ok = Number((await pf.until(/Forwarding from 127\.0\.0\.1:(\d+) -> 8080\n/, 'Forwarding -> 8080'))[1]);
    const refused = Number((await pf.until(/Forwarding from 127\.0\.0\.1:(\d+) -> 9999\n/, 'Forwarding -> 9999'))[1]);
    assert.equal((await get(ok)).body.toString(), 'hello-from-web\n');
    await connectUntilClosed(refused);
    await pf.until(new RegExp(`an error occurred forwarding ${refused} -> 9999: error forwarding port 9999 to pod web, uid [0-9a-f-]+: dial tcp [\\d.]+:9999: connect: connection refused`), 'the refusal');
    // The tunnel is still up: the working port still forwards, twice at once.
    const [a, b] = await Promise.all([get(ok), get(ok, '/big')]);
    assert.equal(a.body.toString(), 'hello-from-web\n');
    assert.equal(b.body.length, BIG);
    assert.equal(pf.proc.exitCode, null);
  });

  test('to a system container Instance, by its bare name', async () => {
    const r = lodgeCli(w.lodge, ['launch', 'busybox', 'sys'], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const i = await instances.waitFor('sys', 'running with an IP', (x) => x?.status?.phase === 'Running' && !!x.status.ip);
    instances.uids.add(i.metadata.uid);
    // busybox httpd without -f daemonizes: it keeps running in the Instance after exec returns.
    const start = lodgeCli(w.lodge, ['exec', 'instance/sys', '--', 'sh', '-c', 'mkdir -p /w && echo hello-from-sys > /w/index.html && httpd -p 8080 -h /w'], { timeoutMs: 30_000 });
    assert.equal(start.code, 0, start.stderr);
    const pf = lodgeForward(['sys', ':8080']);
    const port = Number((await pf.until(/Forwarding from 127\.0\.0\.1:(\d+) -> 8080\n/, 'Forwarding -> 8080'))[1]);
    assert.equal((await get(port)).body.toString(), 'hello-from-sys\n');
  });
});

describe('@kubernetes/client-node', () => {
  test('PortForward over the WebSocket channel protocol', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(w.lodge.kubeconfig);
    const forward = new k8s.PortForward(kc);
    const server = createServer((sock) => {
      sock.on('error', () => undefined);
      void forward.portForward('default', 'web', [8080], sock, null, sock).catch(() => sock.destroy());
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const r = await get((server.address() as AddressInfo).port);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'hello-from-web\n');
    assert.match(w.lodge.logs(), /"msg":"port-forward session started"[^\n]*"protocol":"v4\.channel\.k8s\.io"/);
  });
});
