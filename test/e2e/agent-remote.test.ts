// `lodge agent --server URL --token T` as its own process against a
// `lodge up --no-agent`: it registers its Node, binds and runs Pods through
// the REST API only, outlives nothing it should not (SIGKILL of the agent
// leaves the container running; a new agent re-adopts it) and refuses to
// start without what it needs to trust and reach the server. The Node's
// conditions follow its Lease: Unknown and tainted unreachable while the
// agent is gone, Ready and untainted when it is back.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KUBECTL_DIR, LODGE_MAIN, api, networkArgs, removeDir, shutdown, startLodge, waitFor, type Lodge } from './harness.js';
import { PodFixture, containerIdOf, containerStatus, mountsMentioning, podCgroups, runcState } from './pod-fixture.js';

const NODE = `lodge-remote-${process.pid}`;
const KUBECTL = join(KUBECTL_DIR, 'kubectl');
const dataDir = mkdtempSync(join(tmpdir(), 'lodge-cp-'));
const agentDir = mkdtempSync(join(tmpdir(), 'lodge-remote-agent-'));
let lodge: Lodge | undefined;
const pods = new PodFixture(() => lodge, 'default', { terminationGracePeriodSeconds: 1 });
const agents = new Set<ChildProcess>();

interface AgentProc {
  proc: ChildProcess;
  stderr(): string;
  exited: Promise<number | null>;
}

function startAgent(extra: string[] = [], opts: { waitReady?: boolean } = {}): Promise<AgentProc> {
  const args = [LODGE_MAIN, 'agent', '--server', lodge!.url, '--token-file', join(dataDir, 'pki', 'admin.token'), '--certificate-authority', join(dataDir, 'pki', 'ca.crt'), '--data-dir', agentDir, '--node-name', NODE, '--node-lease-duration', '4', '--node-port', '0', ...networkArgs(dataDir), ...extra];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LODGE_LOG_LEVEL: 'warn' } });
  agents.add(proc);
  let stderr = '';
  let stdout = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const a: AgentProc = { proc, stderr: () => stderr, exited };
  if (opts.waitReady === false) return Promise.resolve(a);
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`lodge agent not ready in 60 s; stderr:\n${stderr}`)), 60_000);
    proc.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (/lodge agent: node \S+ ready/.test(stdout)) {
        clearTimeout(timer);
        res(a);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`lodge agent exited with ${code} before ready; stderr:\n${stderr}`));
    });
  });
}

async function kill(a: AgentProc, signal: NodeJS.Signals): Promise<number | null> {
  if (a.proc.exitCode === null && a.proc.signalCode === null) a.proc.kill(signal);
  return a.exited;
}

before(async () => {
  // Short lease and grace period so that the lifecycle test sees a silent node within seconds.
  lodge = await startLodge({ dataDir, args: ['--no-agent', '--node-monitor-grace-period', '4'] });
});

after(async () => {
  try {
    if (lodge && lodge.proc.exitCode === null && lodge.proc.signalCode === null) {
      // The Pods go through an agent (it stops and removes them), so start one if none runs.
      if (![...agents].some((p) => p.exitCode === null && p.signalCode === null)) await startAgent().catch(() => undefined);
      await pods.deleteAll();
    }
  } finally {
    for (const p of agents) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    pods.noteSandboxes(agentDir);
    await shutdown(lodge, dataDir).catch(() => undefined);
    pods.sweepHost([dataDir, agentDir]);
    removeDir(agentDir);
    removeDir(dataDir);
  }
});

/** `lodge port-forward TARGET :PORT` (a child, ended by PID), one GET through it: the body. */
async function forwardedGet(target: string, port: number): Promise<string> {
  const proc = spawn(process.execPath, [LODGE_MAIN, '--kubeconfig', lodge!.kubeconfig, 'port-forward', target, `:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const local = await waitFor('lodge port-forward listening', async () => Number(new RegExp(`Forwarding from 127\\.0\\.0\\.1:(\\d+) -> ${port}`).exec(out)?.[1]) || undefined, 30_000);
    return await new Promise<string>((res, rej) => {
      const req = httpRequest({ host: '127.0.0.1', port: local, path: '/', agent: false, timeout: 30_000 }, (r) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (d: string) => (body += d));
        r.on('end', () => res(body));
      });
      req.on('error', rej);
      req.on('timeout', () => req.destroy(new Error('GET through port-forward timed out')));
      req.end();
    });
  } finally {
    if (proc.exitCode === null) proc.kill('SIGTERM');
  }
}

describe('lodge agent (separate process)', () => {
  test('refuses to start without a token, with an http URL, or without a CA', async () => {
    const run = (args: string[]): ReturnType<typeof spawnSync> =>
      spawnSync(process.execPath, [LODGE_MAIN, 'agent', '--data-dir', agentDir, ...args], { encoding: 'utf8', env: { ...process.env, LODGE_TOKEN: '' }, timeout: 30_000 });
    let r = run(['--server', lodge!.url]);
    assert.equal(r.status, 1);
    assert.match(String(r.stderr), /a token is needed: --token/);
    r = run(['--server', lodge!.url.replace('https:', 'http:'), '--token', 'x']);
    assert.equal(r.status, 1);
    assert.match(String(r.stderr), /--server must be an https:\/\/ URL/);
    r = run(['--server', lodge!.url, '--token', 'x']);
    assert.equal(r.status, 1);
    assert.match(String(r.stderr), /--certificate-authority FILE is needed/);
    r = run(['--server', lodge!.url, '--token', 'wrong-token', '--certificate-authority', join(dataDir, 'pki', 'ca.crt'), '--node-name', 'never']);
    assert.equal(r.status, 1);
    assert.match(String(r.stderr), /cannot start: .*(Unauthorized|401)/i);
  });

  test('registers its Node and runs a Pod through the API; SIGKILL keeps the container; a new agent re-adopts it', async () => {
    let agent = await startAgent();
    const node = await waitFor('node registered', async () => {
      const r = await api(lodge!, 'GET', `/api/v1/nodes/${NODE}`);
      return r.status === 200 && r.json().status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') ? r.json() : undefined;
    });
    assert.ok(Number(node.status.capacity.cpu) > 0);
    assert.ok(node.status.daemonEndpoints.kubeletEndpoint.Port > 0, 'the node server port is published');
    assert.match(node.metadata.annotations['lodge.dev/node-server-ca'], /BEGIN CERTIFICATE/);
    assert.deepEqual(node.status.addresses.find((a: { type: string }) => a.type === 'InternalIP'), { type: 'InternalIP', address: '127.0.0.1' });
    const lease = await api(lodge!, 'GET', `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${NODE}`);
    assert.equal(lease.status, 200, lease.text);

    const pod = await pods.create('remote-sleeper', { containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'echo remote-hello; exec sleep 3600'] }] });
    const uid = pod.metadata.uid as string;
    const running = await pods.waitFor('remote-sleeper', 'running', (p) => p.status?.phase === 'Running' && containerStatus(p)?.state?.running);
    assert.equal(running.spec.nodeName, NODE, 'bound to the agent node');
    const before = runcState(containerIdOf(uid));
    assert.equal(before?.status, 'running');
    // Logs come from the agent's node server, through the API server, to kubectl.
    const logs = await waitFor('log through the node server', async () => {
      const r = await api(lodge!, 'GET', '/api/v1/namespaces/default/pods/remote-sleeper/log');
      return r.status === 200 && r.text.includes('remote-hello') ? r.text : undefined;
    });
    assert.equal(logs, 'remote-hello\n');
    const kubectlLogs = spawnSync(KUBECTL, ['--kubeconfig', lodge!.kubeconfig, 'logs', 'remote-sleeper', '--timestamps'], { encoding: 'utf8' });
    assert.equal(kubectlLogs.status, 0, kubectlLogs.stderr);
    assert.match(kubectlLogs.stdout, /^\d{4}-\d\d-\d\dT\S+ remote-hello$/m);
    // The node server answers only the token the agent was given.
    const port = node.status.daemonEndpoints.kubeletEndpoint.Port;
    const ca = node.metadata.annotations['lodge.dev/node-server-ca'];
    for (const token of ['wrong', undefined]) {
      const code = await new Promise<number | undefined>((res, rej) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path: `/containerLogs/${uid}/c`, ca, headers: token ? { authorization: `Bearer ${token}` } : {} }, (r) => {
          r.resume();
          res(r.statusCode);
        });
        req.once('error', rej);
        req.end();
      });
      assert.equal(code, 401);
    }
    // Exec goes the same way, over a WebSocket to the node server.
    const ex = spawnSync(KUBECTL, ['--kubeconfig', lodge!.kubeconfig, 'exec', 'remote-sleeper', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(ex.status, 3, ex.stderr);
    assert.equal(ex.stdout, 'out\n');
    assert.match(ex.stderr, /^err$/m);
    const cat = spawnSync(KUBECTL, ['--kubeconfig', lodge!.kubeconfig, 'exec', '-i', 'remote-sleeper', '--', 'cat'], { encoding: 'utf8', input: 'through stdin\n', timeout: 60_000 });
    assert.equal(cat.status, 0, cat.stderr);
    assert.equal(cat.stdout, 'through stdin\n');
    const missing = spawnSync(KUBECTL, ['--kubeconfig', lodge!.kubeconfig, 'exec', 'remote-sleeper', '--', '/no/such/program'], { encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /no such file|not found|executable/i);
    // Attach as well: the main process's stdio (conmon's attach socket), over a WebSocket to the node server.
    await pods.create('remote-reader', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', stdin: true, stdinOnce: true, command: ['sh', '-c', 'while read l; do echo "got $l"; done; echo eof'] }] });
    await pods.waitFor('remote-reader', 'running', (p) => containerStatus(p)?.state?.running);
    const attached = spawnSync(KUBECTL, ['--kubeconfig', lodge!.kubeconfig, 'attach', '-i', 'remote-reader'], { encoding: 'utf8', input: 'remote\n', timeout: 60_000 });
    assert.equal(attached.status, 0, attached.stderr);
    assert.match(attached.stdout, /got remote\neof\n/, attached.stdout + attached.stderr);
    // Port-forward too: the API server dials the agent's node server, which connects to the Pod's address.
    const httpd = spawnSync(KUBECTL, ['--kubeconfig', lodge!.kubeconfig, 'exec', 'remote-sleeper', '--', 'sh', '-c', 'mkdir -p /w && echo pf-remote > /w/index.html && httpd -p 8080 -h /w'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(httpd.status, 0, httpd.stderr);
    assert.equal(await forwardedGet('pod/remote-sleeper', 8080), 'pf-remote\n');
    const noPrev = await api(lodge!, 'GET', '/api/v1/namespaces/default/pods/remote-sleeper/log?previous=true');
    assert.equal(noPrev.status, 400, noPrev.text);
    assert.match(noPrev.json().message, /previous terminated container "c" in pod "remote-sleeper" not found/);

    assert.equal(await kill(agent, 'SIGKILL'), null);
    assert.equal(runcState(containerIdOf(uid))?.pid, before!.pid, 'the container outlives the agent');
    const silent = await waitFor('node Unknown and tainted', async () => {
      const n = (await api(lodge!, 'GET', `/api/v1/nodes/${NODE}`)).json();
      const ready = n.status?.conditions?.find((c: { type: string }) => c.type === 'Ready');
      return ready?.status === 'Unknown' && n.spec?.taints?.length ? n : undefined;
    }, 30_000);
    assert.equal(silent.status.conditions.find((c: { type: string }) => c.type === 'Ready').reason, 'NodeStatusUnknown');
    assert.deepEqual(silent.spec.taints.map((t: { key: string; effect: string }) => `${t.key}:${t.effect}`).sort(), ['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
    const table = spawnSync(process.execPath, [LODGE_MAIN, '--kubeconfig', lodge!.kubeconfig, 'get', 'nodes', NODE], { encoding: 'utf8' });
    assert.match(table.stdout, /NotReady/, table.stdout + table.stderr);
    // Changed while no agent runs: a second Pod waits for it.
    await pods.create('remote-later', { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] });

    agent = await startAgent();
    await waitFor('node Ready and untainted', async () => {
      const n = (await api(lodge!, 'GET', `/api/v1/nodes/${NODE}`)).json();
      return n.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') && !n.spec?.taints?.length;
    }, 30_000);
    await pods.waitFor('remote-later', 'running', (p) => p.status?.phase === 'Running');
    const again = await pods.get('remote-sleeper');
    const relog = await api(lodge!, 'GET', '/api/v1/namespaces/default/pods/remote-sleeper/log');
    assert.equal(relog.text, 'remote-hello\n', 'logs of a re-adopted container through the new agent');
    assert.equal(containerStatus(again).restartCount, 0, 'not restarted');
    assert.equal(runcState(containerIdOf(uid))?.pid, before!.pid, 're-adopted, not replaced');

    // Graceful delete goes through the agent and leaves nothing behind.
    const del = await api(lodge!, 'DELETE', '/api/v1/namespaces/default/pods/remote-sleeper');
    assert.ok(del.status === 200 || del.status === 202, del.text);
    await waitFor('pod gone', async () => (await pods.get('remote-sleeper')) === undefined, 60_000);
    assert.equal(runcState(containerIdOf(uid)), undefined);
    assert.deepEqual(mountsMentioning(uid), []);
    assert.deepEqual(podCgroups(uid), []);

    // SIGTERM stops the agent cleanly, the workloads stay.
    const later = await pods.get('remote-later');
    assert.equal(await kill(agent, 'SIGTERM'), 0, agent.stderr());
    assert.equal(runcState(containerIdOf(later.metadata.uid))?.status, 'running');
    assert.doesNotMatch(lodge!.logs(), /request failed/);
  });
});
