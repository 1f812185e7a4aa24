// The console of an Instance on a node whose agent is its own process
// (`lodge agent` against `lodge up --no-agent`): the API server reaches it
// through the agent's node server (/console/instance/UID, /log/instance/UID).
// A busybox system container: attach through instances/console, run a
// command at the shell, detach; the console log through instances/log.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { WebSocket, type RawData } from 'ws';
import { networkArgs, LODGE_MAIN, api, lodgeCli, removeDir, shutdown, startLodge, waitFor, type Lodge } from './harness.js';
import { InstanceFixture } from './instance-fixture.js';

const NODE = `lodge-conr-${process.pid}`;
const dataDir = mkdtempSync(join(tmpdir(), 'lodge-conr-cp-'));
const agentDir = mkdtempSync(join(tmpdir(), 'lodge-conr-agent-'));
let lodge: Lodge | undefined;
let agent: ChildProcess | undefined;
let agentExited: Promise<unknown> | undefined;
const instances = new InstanceFixture(() => lodge);

before(async () => {
  lodge = await startLodge({ dataDir, args: ['--no-agent'] });
  const args = [LODGE_MAIN, 'agent', '--server', lodge.url, '--token-file', join(dataDir, 'pki', 'admin.token'), '--certificate-authority', join(dataDir, 'pki', 'ca.crt'), '--data-dir', agentDir, '--node-name', NODE, '--node-port', '0', ...networkArgs(dataDir)];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LODGE_LOG_LEVEL: 'warn' } });
  agent = proc;
  agentExited = new Promise((resolve) => proc.once('exit', resolve));
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor('lodge agent ready', async () => {
    if (proc.exitCode !== null) throw new Error(`lodge agent exited ${proc.exitCode}: ${err}`);
    return /lodge agent: node \S+ ready/.test(out);
  }, 60_000);
});

after(async () => {
  try {
    if (lodge && agent?.exitCode === null) await instances.deleteAll();
  } finally {
    if (agent && agent.exitCode === null && agent.signalCode === null) agent.kill('SIGTERM');
    await agentExited;
    await shutdown(lodge, dataDir).catch(() => undefined);
    instances.sweepHost([dataDir, agentDir]);
    removeDir(agentDir);
  }
});

test('a system container on a remote agent: console through its node server, and its log', async () => {
  const r = lodgeCli(lodge!, ['launch', 'busybox', 'rc'], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  const inst = await instances.get('rc');
  assert.equal(inst.status.nodeName, NODE);

  const url = `${lodge!.url.replace(/^https/, 'wss')}/apis/lodge.dev/v1alpha1/namespaces/default/instances/rc/console`;
  const ws = new WebSocket(url, ['v5.channel.k8s.io'], { ca: lodge!.caPem, headers: { authorization: `Bearer ${lodge!.token}` }, perMessageDeflate: false });
  let out = '';
  ws.on('message', (d: RawData) => {
    const buf = Buffer.isBuffer(d) ? d : Buffer.concat(d as Buffer[]);
    if (buf[0] === 1) out += buf.subarray(1).toString('utf8');
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  // The first keys may reach a shell that is still starting: type again until the answer shows.
  await waitFor('the answer through the node server', async () => {
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('echo $((6*7))\n')]));
    return waitFor('42', async () => /^42\r?$/m.test(out), 3000).catch(() => false);
  }, 60_000, 0);
  ws.close(1000);
  await closed;

  const log = await api(lodge!, 'GET', '/apis/lodge.dev/v1alpha1/namespaces/default/instances/rc/log');
  assert.equal(log.status, 200, log.text);
  assert.match(log.text, /^lodge: booted rc$/m);
  assert.match(log.text, /^42$/m);
  assert.equal(lodgeCli(lodge!, ['delete', 'rc'], { timeoutMs: 120_000 }).code, 0);
});
