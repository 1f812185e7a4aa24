// `kubectl logs` and `lodge logs` against a real `lodge up` with its node
// agent: the pods/log subresource reads the CRI files conmon writes, tails
// them, follows them across restarts and serves the previous run. Pods are
// deleted through the API in the end; whatever a failed test left on the host
// is swept by this file's pod uids, and every child process is stopped by PID.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PodFixture } from './pod-fixture.js';
import { LODGE_MAIN, api, describeRun, lodgeCli, removeDir, runKubectl, shutdown, startKubectl, startLodge, waitFor, type KubectlChild, type Lodge } from './harness.js';

const NODE = `lodge-logs-e2e-${process.pid}`;
const NS = 'default';
const dataDir = mkdtempSync(join(tmpdir(), 'lodge-logs-'));
const children = new Set<KubectlChild>();
const procs = new Set<ChildProcess>();
let lodge: Lodge | undefined;

const pods = new PodFixture(() => lodge, NS, { terminationGracePeriodSeconds: 1 });
const createPod = (name: string, spec: Record<string, unknown>): Promise<any> => pods.create(name, spec);
const getPod = (name: string): Promise<any> => pods.get(name);

const busybox = (name: string, script: string): Record<string, unknown> => ({ name, image: 'busybox', command: ['sh', '-c', script] });

/** kubectl logs ARGS, polled until its stdout satisfies pred. */
async function kubectlLogsUntil(args: string[], pred: (out: string) => boolean, what: string): Promise<string> {
  let last = '';
  return waitFor(
    what,
    async () => {
      const r = runKubectl(lodge!, ['logs', ...args]);
      last = describeRun(r);
      return r.code === 0 && pred(r.stdout) ? r.stdout : undefined;
    },
    120_000,
    500,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${last}`);
  });
}

before(async () => {
  lodge = await startLodge({ dataDir, args: ['--node-name', NODE] });
});

after(async () => {
  try {
    for (const c of children) await c.stop();
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    if (lodge && lodge.proc.exitCode === null && lodge.proc.signalCode === null) await pods.deleteAll();
  } finally {
    await shutdown(lodge, dataDir).catch(() => undefined);
    pods.sweepHost([dataDir]);
    removeDir(dataDir);
  }
});

describe('pods/log', () => {
  test('kubectl logs prints the lines; --tail 1 the last; lodge logs the same', async () => {
    await createPod('lines', { containers: [busybox('c', 'for i in 1 2 3; do echo line$i; done; sleep 3600')] });
    const out = await kubectlLogsUntil(['lines'], (o) => o.includes('line3'), 'line3 in kubectl logs');
    assert.equal(out, 'line1\nline2\nline3\n');
    const tail = runKubectl(lodge!, ['logs', 'lines', '--tail', '1']);
    assert.equal(tail.code, 0, describeRun(tail));
    assert.equal(tail.stdout, 'line3\n');
    const ts = runKubectl(lodge!, ['logs', 'lines', '--timestamps']);
    assert.match(ts.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z line1$/m, describeRun(ts));
    const mine = lodgeCli(lodge!, ['logs', 'lines']);
    assert.equal(mine.code, 0, mine.stderr);
    assert.equal(mine.stdout, out);
    const mineTail = lodgeCli(lodge!, ['logs', 'pod/lines', '--tail', '1', '-n', NS]);
    assert.equal(mineTail.stdout, 'line3\n', mineTail.stderr);
    const prev = runKubectl(lodge!, ['logs', 'lines', '--previous']);
    assert.notEqual(prev.code, 0, describeRun(prev));
    assert.match(prev.stderr, /previous terminated container "c" in pod "lines" not found/);
  });

  test('a two-container Pod needs a container name', async () => {
    await createPod('two', { containers: [busybox('a', 'echo from-a; sleep 3600'), busybox('b', 'echo from-b; sleep 3600')] });
    const r = await api(lodge!, 'GET', `/api/v1/namespaces/${NS}/pods/two/log`);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json().message, 'a container name must be specified for pod two, choose one of: [a b]');
    const mine = lodgeCli(lodge!, ['logs', 'two']);
    assert.equal(mine.code, 1);
    assert.match(mine.stderr, /a container name must be specified for pod two, choose one of: \[a b\]/);
    // kubectl itself defaults to the first container (with a note) rather than asking the server without one.
    const k = runKubectl(lodge!, ['logs', 'two']);
    if (k.code === 0) assert.match(k.stderr, /Defaulted container "a" out of: a, b/, describeRun(k));
    else assert.match(k.stderr, /choose one of: \[a b\]/, describeRun(k));
    assert.equal(await kubectlLogsUntil(['two', '-c', 'b'], (o) => o.includes('from-b'), 'from-b'), 'from-b\n');
    const bad = runKubectl(lodge!, ['logs', 'two', '-c', 'zz']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /container zz is not valid for pod two/);
  });

  test('kubectl logs -f and lodge logs -f see lines printed later, and end when the Pod goes', async () => {
    await createPod('ticker', { containers: [busybox('c', 'i=0; while true; do i=$((i+1)); echo tick$i; sleep 0.5; done')] });
    await kubectlLogsUntil(['ticker'], (o) => o.includes('tick1\n'), 'tick1');
    const k = startKubectl(lodge!, ['logs', '-f', 'ticker']);
    children.add(k);
    const mine = spawn(process.execPath, [LODGE_MAIN, '--kubeconfig', lodge!.kubeconfig, 'logs', '-f', 'ticker'], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.add(mine);
    let mineOut = '';
    mine.stdout!.setEncoding('utf8').on('data', (d: string) => (mineOut += d));
    const mineExit = new Promise<number | null>((res) => mine.once('close', (c) => res(c)));
    const first = await k.until((o) => /tick\d+\n/.test(o), 'a first tick');
    const seen = Math.max(...[...first.matchAll(/tick(\d+)/g)].map((m) => Number(m[1])));
    await k.until((o) => o.includes(`tick${seen + 3}\n`), `tick${seen + 3}, printed after kubectl started following`, 60_000);
    await waitFor('lodge logs -f sees a later line', async () => mineOut.includes(`tick${seen + 3}\n`), 60_000);
    assert.ok(mineOut.startsWith('tick1\n'), mineOut.slice(0, 200));

    const del = await api(lodge!, 'DELETE', `/api/v1/namespaces/${NS}/pods/ticker`);
    assert.ok(del.status === 200 || del.status === 202, del.text);
    assert.equal(await k.exited(60_000), 0, 'kubectl logs -f ends when the Pod is deleted');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([mineExit, new Promise<string>((res) => (timer = setTimeout(() => res('timeout'), 60_000)))]);
    clearTimeout(timer);
    assert.equal(code, 0, 'lodge logs -f ends when the Pod is deleted');
  });

  test('--previous shows the run before the last restart', async () => {
    await createPod('restarter', { restartPolicy: 'Always', containers: [busybox('c', 'echo run; exit 1')] });
    await waitFor('a restart', async () => (await getPod('restarter'))?.status?.containerStatuses?.[0]?.restartCount >= 1, 120_000);
    assert.equal(await kubectlLogsUntil(['restarter', '--previous'], (o) => o.length > 0, 'the previous run'), 'run\n');
    const mine = lodgeCli(lodge!, ['logs', 'restarter', '--previous']);
    assert.equal(mine.code, 0, mine.stderr);
    assert.equal(mine.stdout, 'run\n');
  });
});
