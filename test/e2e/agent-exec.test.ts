// `kubectl exec` and `lodge exec` against a real `lodge up` with its node
// agent: pods/exec upgraded to a WebSocket (remote command v5/v4), or to
// SPDY/3.1 for kubectl before 1.30, runc exec in the container, output, exit
// codes, stdin, container choice, errors, a terminal for old kubectl under
// script(1), and a terminal session spoken directly over the socket. Pods are deleted through
// the API in the end; whatever a failed test left on the host is swept by
// this file's pod uids, and the lodge process is stopped by PID.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket, type RawData } from 'ws';
import { PodFixture, containerStatus } from './pod-fixture.js';
import { api, describeRun, installedKubectlVersions, kubectlBinary, lodgeCli, removeDir, runKubectl, shutdown, startLodge, type Lodge } from './harness.js';

const NODE = `lodge-exec-e2e-${process.pid}`;
const NS = 'default';
const dataDir = mkdtempSync(join(tmpdir(), 'lodge-exec-'));
let lodge: Lodge | undefined;
const sockets = new Set<WebSocket>();

const pods = new PodFixture(() => lodge, NS, { terminationGracePeriodSeconds: 1 });
const busybox = (name: string, env: Record<string, string> = {}): Record<string, unknown> => ({
  name,
  image: 'busybox',
  command: ['sh', '-c', 'sleep 3600'],
  env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })),
});

async function running(name: string, containers: string[]): Promise<void> {
  await pods.waitFor(name, `${containers.join(', ')} running`, (p) => containers.every((c) => containerStatus(p, c)?.state?.running), 120_000);
}

before(async () => {
  lodge = await startLodge({ dataDir, args: ['--node-name', NODE] });
  await pods.create('one', { containers: [busybox('c', { WHO: 'one' })] });
  await pods.create('two', { containers: [busybox('a', { WHO: 'a' }), busybox('b', { WHO: 'b' })] });
  await running('one', ['c']);
  await running('two', ['a', 'b']);
});

after(async () => {
  try {
    for (const s of sockets) s.terminate();
    if (lodge && lodge.proc.exitCode === null && lodge.proc.signalCode === null) await pods.deleteAll();
  } finally {
    await shutdown(lodge, dataDir).catch(() => undefined);
    pods.sweepHost([dataDir]);
    removeDir(dataDir);
  }
});

/** The oldest kubectl that speaks only SPDY for exec (before 1.30), if one is installed. */
const SPDY_KUBECTL = installedKubectlVersions().find((v) => Number(v.split('.')[1]) < 30);

for (const version of [undefined, '1.30', ...(SPDY_KUBECTL ? [SPDY_KUBECTL] : [])]) {
  const kubectl = `kubectl ${version ?? '1.33'}${version === SPDY_KUBECTL ? ' (SPDY)' : ''}`;
  describe(`${kubectl} exec`, () => {
    test('stdout and stderr apart, the exit code propagated', async () => {
      const ok = runKubectl(lodge!, ['exec', 'one', '--', 'sh', '-c', 'echo "out $WHO"; echo err >&2'], { version });
      assert.equal(ok.code, 0, describeRun(ok));
      assert.equal(ok.stdout, 'out one\n', describeRun(ok));
      assert.match(ok.stderr, /^err$/m, describeRun(ok));
      const failed = runKubectl(lodge!, ['exec', 'one', '--', 'sh', '-c', 'exit 3'], { version });
      assert.equal(failed.code, 3, describeRun(failed));
      assert.match(failed.stderr, /command terminated with exit code 3/, describeRun(failed));
    });

    test('-i passes stdin, and its end is an EOF to the command', async () => {
      const r = runKubectl(lodge!, ['exec', '-i', 'one', '--', 'cat'], { version, input: 'hi\nthere\n' });
      assert.equal(r.code, 0, describeRun(r));
      assert.equal(r.stdout, 'hi\nthere\n', describeRun(r));
    });

    test('-c picks the container of a two-container Pod', async () => {
      for (const c of ['a', 'b']) {
        const r = runKubectl(lodge!, ['exec', 'two', '-c', c, '--', 'sh', '-c', 'echo $WHO'], { version });
        assert.equal(r.code, 0, describeRun(r));
        assert.equal(r.stdout, `${c}\n`, describeRun(r));
      }
    });

    test('no such pod, no such container, no such executable', async () => {
      const pod = runKubectl(lodge!, ['exec', 'nope', '--', 'true'], { version });
      assert.notEqual(pod.code, 0, describeRun(pod));
      assert.match(pod.stderr, /pods "nope" not found/, describeRun(pod));
      const container = runKubectl(lodge!, ['exec', 'two', '-c', 'zz', '--', 'true'], { version });
      assert.notEqual(container.code, 0, describeRun(container));
      assert.match(container.stderr, /container zz (is not valid for pod two|not found)/, describeRun(container));
      const exe = runKubectl(lodge!, ['exec', 'one', '--', 'no-such-command'], { version });
      assert.notEqual(exe.code, 0, describeRun(exe));
      assert.match(exe.stderr, /no-such-command.*not found/, describeRun(exe));
    });
  });
}

describe(`kubectl ${SPDY_KUBECTL ?? '< 1.30'} exec -it (SPDY), in a terminal from script(1)`, { skip: !SPDY_KUBECTL ? 'no kubectl before 1.30 installed' : !existsSync('/usr/bin/script') ? 'no script(1)' : false }, () => {
  test('a terminal in the container, its size from the resize stream, the exit code propagated', () => {
    // The shell in script's terminal sets the size kubectl sends; the command asks until the resize reached its pty.
    const argv = ['--kubeconfig', lodge!.kubeconfig, `--cache-dir=${join(lodge!.dataDir, 'kubectl-cache', 'spdy-tty')}`, 'exec', '-it', 'one', '--', 'sh', '-c', 'tty; for i in $(seq 100); do s=$(stty size); [ "$s" = "45 123" ] && break; sleep 0.1; done; echo "size $s"; exit 4'];
    const line = ['stty cols 123 rows 45;', 'exec', kubectlBinary(SPDY_KUBECTL), ...argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`)].join(' ');
    const r = spawnSync('script', ['-qec', line, '/dev/null'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, HOME: lodge!.dataDir } });
    const run = { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', command: `script -qec ${JSON.stringify(line)}` };
    assert.equal(r.status, 4, describeRun(run));
    assert.match(run.stdout, /\/dev\/pts\/\d+\r\n/, describeRun(run));
    assert.match(run.stdout, /size 45 123\r\n/, describeRun(run));
  });
});

describe('lodge exec', () => {
  test('output, exit code, stdin, container choice', async () => {
    const ok = lodgeCli(lodge!, ['exec', 'one', '--', 'sh', '-c', 'echo "out $WHO"; echo err >&2']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'out one\n');
    assert.equal(ok.stderr, 'err\n');
    const failed = lodgeCli(lodge!, ['exec', 'one', '--', 'sh', '-c', 'exit 3']);
    assert.equal(failed.code, 3, failed.stderr);
    const cat = lodgeCli(lodge!, ['exec', '-i', 'pod/one', '--', 'cat'], { input: 'hi\n' });
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, 'hi\n');
    const b = lodgeCli(lodge!, ['exec', 'two', '-c', 'b', '--', 'sh', '-c', 'echo $WHO']);
    assert.equal(b.stdout, 'b\n', b.stderr);
  });

  test('errors are the server Status, exit 1', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['exec', 'nope', '--', 'true'], /^Error from server \(NotFound\): pods "nope" not found$/m],
      [['exec', 'two', '--', 'true'], /^Error from server \(BadRequest\): a container name must be specified for pod two, choose one of: \[a b\]$/m],
      [['exec', 'two', '-c', 'zz', '--', 'true'], /^Error from server \(BadRequest\): container zz is not valid for pod two$/m],
      [['exec', 'one', '--', 'no-such-command'], /^error: Internal error occurred: error executing command in container: .*no-such-command/m],
    ];
    for (const [args, want] of cases) {
      const r = lodgeCli(lodge!, args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, want);
    }
  });
});

describe('pods/exec over the API', () => {
  test('without an upgrade, or without a command: 400 after the Pod is found', async () => {
    const base = `/api/v1/namespaces/${NS}/pods`;
    const plain = await api(lodge!, 'GET', `${base}/one/exec?command=true&stdout=true`);
    assert.equal(plain.status, 400, plain.text);
    assert.equal(plain.json().message, 'Upgrade request required');
    const none = await api(lodge!, 'POST', `${base}/one/exec?stdout=true`);
    assert.equal(none.status, 400, none.text);
    assert.equal(none.json().message, 'you must specify at least 1 command');
    const missing = await api(lodge!, 'GET', `${base}/nope/exec?command=true&stdout=true`);
    assert.equal(missing.status, 404, missing.text);
  });

  test('a SPDY upgrade with no version in common: 403 with the versions, before switching', async () => {
    const { request } = await import('node:https');
    const path = `/api/v1/namespaces/${NS}/pods/one/exec?command=true&stdout=true`;
    const r = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const headers = { authorization: `Bearer ${lodge!.token}`, connection: 'Upgrade', upgrade: 'SPDY/3.1', 'x-stream-protocol-version': 'v9.channel.k8s.io' };
      const req = request(new URL(path, lodge!.url), { method: 'POST', headers, ca: lodge!.caPem }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        reject(new Error(`switched protocols: ${res.statusCode}`));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(r.status, 403, r.text);
    const s = JSON.parse(r.text);
    assert.equal(s.reason, 'Forbidden');
    assert.match(s.message, /client supports \[v9\.channel\.k8s\.io\], server supports \[v4\.channel\.k8s\.io /);
  });

  test('unauthenticated upgrades are refused with 401', async () => {
    const url = `${lodge!.url.replace(/^https/, 'wss')}/api/v1/namespaces/${NS}/pods/one/exec?command=true&stdout=true`;
    const code = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(url, ['v5.channel.k8s.io'], { ca: lodge!.caPem });
      sockets.add(ws);
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => reject(new Error('upgraded without credentials')));
      ws.once('error', reject);
    });
    assert.equal(code, 401);
  });

  test('a terminal session: input, output, resize, exit status on channel 3', async () => {
    const q = new URLSearchParams([['command', 'sh'], ['stdin', 'true'], ['stdout', 'true'], ['tty', 'true']]);
    const url = `${lodge!.url.replace(/^https/, 'wss')}/api/v1/namespaces/${NS}/pods/one/exec?${q}`;
    const ws = new WebSocket(url, ['v5.channel.k8s.io', 'v4.channel.k8s.io'], { ca: lodge!.caPem, headers: { authorization: `Bearer ${lodge!.token}` } });
    sockets.add(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    assert.equal(ws.protocol, 'v5.channel.k8s.io');
    let out = '';
    let status = '';
    const waiters: Array<() => void> = [];
    ws.on('message', (data: RawData) => {
      const buf = Buffer.from(data as Buffer);
      if (buf[0] === 1) out += buf.subarray(1).toString('utf8');
      else if (buf[0] === 3) status += buf.subarray(1).toString('utf8');
      for (const w of waiters.splice(0)) w();
    });
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    const until = async (re: RegExp, what: string): Promise<void> => {
      while (!re.test(out)) {
        const more = new Promise<void>((resolve) => waiters.push(resolve));
        const done = await Promise.race([more.then(() => false), closed.then(() => true)]);
        if (done && !re.test(out)) throw new Error(`session ended before ${what}; output so far ${JSON.stringify(out)}`);
      }
    };
    const send = (channel: number, text: string): void => ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(text)]));
    send(4, JSON.stringify({ Width: 100, Height: 40 }));
    send(0, 'echo $((6*7))\n');
    await until(/42\r\n/, 'the answer');
    // The size reaches the pty asynchronously (through runc): ask until the shell sees it.
    for (let i = 0; i < 100 && !/40 100\r\n/.test(out); i++) {
      const seen = out.length;
      send(0, 'stty size\n');
      await until(new RegExp(`^[\\s\\S]{${seen}}[\\s\\S]*\\d+ \\d+\\r\\n`), 'a size');
    }
    assert.match(out, /40 100\r\n/);
    send(0, 'exit\n');
    await closed;
    assert.deepEqual(JSON.parse(status), { metadata: {}, status: 'Success' });
  });

  test('v4: a non-zero exit is a NonZeroExitCode Status with the code', async () => {
    const q = new URLSearchParams([['command', 'sh'], ['command', '-c'], ['command', 'exit 5'], ['stdout', 'true'], ['stderr', 'true']]);
    const url = `${lodge!.url.replace(/^https/, 'wss')}/api/v1/namespaces/${NS}/pods/one/exec?${q}`;
    const ws = new WebSocket(url, ['v4.channel.k8s.io'], { ca: lodge!.caPem, headers: { authorization: `Bearer ${lodge!.token}` } });
    sockets.add(ws);
    let status = '';
    ws.on('message', (data: RawData) => {
      const buf = Buffer.from(data as Buffer);
      if (buf[0] === 3) status += buf.subarray(1).toString('utf8');
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('close', () => resolve());
      ws.once('error', reject);
    });
    const s = JSON.parse(status);
    assert.equal(s.status, 'Failure');
    assert.equal(s.reason, 'NonZeroExitCode');
    assert.deepEqual(s.details.causes, [{ reason: 'ExitCode', message: '5' }]);
  });
});
