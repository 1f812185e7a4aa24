// `lodge console` against a real `lodge up`: for a busybox system container
// (its terminal, held by conmon) and a busybox-vm VM (its serial port), attach
// through the instances/console WebSocket directly and through `lodge
// console` with piped stdin, run a command at the shell on the console, detach
// with ctrl-a q, and read the console log afterwards (also once stopped).
// Every wait polls for a mechanism (output seen, state reported), never a
// timing; the CLI children are killed by PID if a test fails half-way.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket, type RawData } from 'ws';
import { LODGE_MAIN, api, lodgeCli, removeDir, shutdown, startLodge, waitFor, type Lodge } from './harness.js';
import { InstanceFixture } from './instance-fixture.js';

const NODE = `lodge-con-${process.pid}`;
const dataDir = mkdtempSync(join(tmpdir(), 'lodge-con-'));
let lodge: Lodge | undefined;
const instances = new InstanceFixture(() => lodge);
const children = new Set<ChildProcess>();

function cli(...args: string[]): string {
  const r = lodgeCli(lodge!, args, { timeoutMs: 600_000 });
  assert.equal(r.code, 0, `lodge ${args.join(' ')}\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`);
  return r.stdout;
}

before(async () => {
  lodge = await startLodge({ dataDir, args: ['--node-name', NODE] });
});

after(async () => {
  for (const c of children) if (c.pid && c.exitCode === null && c.signalCode === null) process.kill(c.pid, 'SIGKILL');
  try {
    if (lodge && lodge.proc.exitCode === null && lodge.proc.signalCode === null) await instances.deleteAll();
  } finally {
    await shutdown(lodge, dataDir).catch(() => undefined);
    instances.sweepHost([dataDir]);
    removeDir(dataDir);
  }
});

const consolePath = (name: string): string => `/apis/lodge.dev/v1alpha1/namespaces/default/instances/${name}/console`;

/** The console over the API's WebSocket, as any channel-protocol client speaks it. */
async function openConsole(name: string): Promise<{ ws: WebSocket; output: () => string; send: (s: string) => void; closed: Promise<void>; status: () => string }> {
  const url = lodge!.url.replace(/^https/, 'wss') + consolePath(name);
  const ws = new WebSocket(url, ['v5.channel.k8s.io', 'v4.channel.k8s.io'], { ca: lodge!.caPem, headers: { authorization: `Bearer ${lodge!.token}` }, perMessageDeflate: false });
  let out = '';
  let status = '';
  ws.on('message', (d: RawData) => {
    const buf = Buffer.isBuffer(d) ? d : Buffer.concat(d as Buffer[]);
    if (buf[0] === 1) out += buf.subarray(1).toString('utf8');
    if (buf[0] === 3) status += buf.subarray(1).toString('utf8');
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => reject(new Error(`console upgrade refused: ${res.statusCode} ${body}`)));
    });
  });
  return { ws, output: () => out, send: (s) => ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(s)])), closed, status: () => status };
}

/** `lodge console NAME` with its stdin a pipe; stdout collected. */
function startCliConsole(name: string): { child: ChildProcess; output: () => string; errors: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [LODGE_MAIN, '--kubeconfig', lodge!.kubeconfig, 'console', name], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, errors: () => err, exited };
}

/** Type a command at the console's shell until its answer shows (the first keys may reach a shell that is still starting). */
async function runAtPrompt(send: (s: string) => void, output: () => string, what: string, timeoutMs: number): Promise<void> {
  await waitFor(
    what,
    async () => {
      send('echo $((6*7))\n');
      return waitFor('42', async () => /^42\r?$/m.test(output()), 3000, 100).catch(() => false);
    },
    timeoutMs,
    0,
  );
}

async function consoleChecks(name: string, bootText: RegExp, timeoutMs: number): Promise<void> {
  // Directly through the WebSocket: type, read the answer, detach by closing.
  const c = await openConsole(name);
  await runAtPrompt(c.send, c.output, `${name}: the shell on the console answers over the WebSocket`, timeoutMs);
  c.ws.close(1000);
  await c.closed;
  assert.equal((await instances.get(name)).status.phase, 'Running', 'detaching leaves the instance running');

  // Through the CLI, stdin a pipe: the hint, the answer, ctrl-a q detaches and the CLI exits 0.
  const l = startCliConsole(name);
  await waitFor(`${name}: the detach hint`, async () => l.errors().includes('To detach: ctrl-a q'), 60_000);
  await runAtPrompt((s) => l.child.stdin!.write(s), l.output, `${name}: the shell answers through lodge console`, timeoutMs);
  l.child.stdin!.write('\x01q');
  assert.equal(await l.exited, 0, l.errors());
  children.delete(l.child);
  assert.match(l.errors(), /Detached from the console of instance/);

  // The console log: the boot output and what was typed, through the API and the CLI.
  const log = cli('console', '--show-log', name);
  assert.match(log, bootText);
  assert.match(log, /^42$/m);
  const r = await api(lodge!, 'GET', `/apis/lodge.dev/v1alpha1/namespaces/default/instances/${name}/log?tailLines=1000`);
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, bootText);

  // Stopped: no console to attach to, the log still there.
  cli('stop', '--force', name);
  assert.notEqual((await instances.get(name)).status.phase, 'Running');
  const refused = lodgeCli(lodge!, ['console', name]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /not running/);
  assert.match(cli('console', '--show-log', name), bootText);
}

describe('instance console', () => {
  test('discovery lists instances/console and instances/log', async () => {
    const r = await api(lodge!, 'GET', '/apis/lodge.dev/v1alpha1');
    const names = (r.json().resources as Array<{ name: string }>).map((x) => x.name);
    assert.ok(names.includes('instances/console'), names.join(' '));
    assert.ok(names.includes('instances/log'), names.join(' '));
  });

  test('a system container: a shell on its terminal, ctrl-a q detaches, the log stays', async () => {
    cli('launch', 'busybox', 'ct');
    await consoleChecks('ct', /^lodge: booted ct$/m, 60_000);
    cli('delete', 'ct');
  });

  test('a VM: a shell on its serial console, ctrl-a q detaches, the log stays', async () => {
    cli('launch', 'busybox-vm', 'vm', '--vm', '--memory', '256MiB', '--timeout', '10m');
    await consoleChecks('vm', /LODGE-GUEST-READY/, 180_000);
    cli('delete', 'vm');
  });
});
