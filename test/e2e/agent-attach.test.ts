// `kubectl attach` and `kubectl run -i/-it --rm` against a real `lodge up`
// with its node agent: pods/attach upgraded to a WebSocket (kubectl ≥ 1.30,
// client-node) or to SPDY/3.1 (older kubectl), relayed to conmon's attach
// socket of the container's main process. Output written after the attach,
// stdout and stderr apart; input into a container with stdin: true, closed
// after the first session with stdinOnce and kept open without it; a
// terminal (kubectl run -it under script(1)) with its size; the errors the
// kubelet and apiserver give. Pods are deleted through the API in the end and
// whatever a failed test left on the host is swept (useWorkloadLodge).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { api, describeRun, installedKubectlVersions, kubectlBinary, runKubectl, startKubectl, waitFor } from './harness.js';
import { containerStatus } from './pod-fixture.js';
import { useWorkloadLodge } from './workload-lodge.js';

const NODE = `lodge-attach-e2e-${process.pid}`;
const w = useWorkloadLodge('lodge-attach-', NODE);
const pods = w.pods;

/** The oldest kubectl that speaks only SPDY for attach (before 1.30), if one is installed. */
const SPDY_KUBECTL = installedKubectlVersions().find((v) => Number(v.split('.')[1]) < 30);
const VERSIONS: Array<string | undefined> = [undefined, ...(SPDY_KUBECTL ? [SPDY_KUBECTL] : [])];
const label = (v: string | undefined): string => (v ? `kubectl ${v} (SPDY)` : 'kubectl');

async function running(name: string): Promise<void> {
  await pods.waitFor(name, 'c running', (p) => containerStatus(p)?.state?.running, 120_000);
}

async function gone(name: string): Promise<void> {
  await waitFor(`pod ${name} deleted`, async () => (await api(w.lodge, 'GET', `/api/v1/namespaces/default/pods/${name}`)).status === 404, 60_000);
}

/** A shell-quoted command line for script(1). */
const shellLine = (argv: string[]): string => argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');

describe('kubectl attach', () => {
  test('sees what the container writes after the attach, stdout and stderr apart; leaving detaches', async () => {
    await pods.create('ticker', { containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'i=0; while :; do echo "tick $i"; echo "tock $i" >&2; i=$((i+1)); sleep 0.2; done'] }] });
    await running('ticker');
    for (const version of VERSIONS) {
      const k = startKubectl(w.lodge, ['attach', 'ticker'], { version });
      try {
        await k.until((out) => /tick \d+\n/.test(out), `${label(version)}: ticks on stdout`, 30_000);
        await k.untilStderr((err) => /tock \d+\n/.test(err), `${label(version)}: tocks on stderr`, 30_000);
        assert.doesNotMatch(k.stdout(), /tock/, `${label(version)}: stderr kept apart`);
      } finally {
        await k.stop();
      }
    }
    // Detaching left the container running.
    const p = await pods.get('ticker');
    assert.ok(containerStatus(p)?.state?.running, JSON.stringify(p.status));
  });

  for (const version of VERSIONS) {
    test(`${label(version)} attach -i: input reaches the process; with stdinOnce its stdin closes when the session ends`, async () => {
      const name = `reader${version ? '-spdy' : ''}`;
      await pods.create(name, {
        restartPolicy: 'Never',
        containers: [{ name: 'c', image: 'busybox', stdin: true, stdinOnce: true, command: ['sh', '-c', 'while read l; do echo "got $l"; done; echo "stdin closed"'] }],
      });
      await running(name);
      const r = runKubectl(w.lodge, ['attach', '-i', name], { version, input: 'a\nb\n' });
      assert.equal(r.code, 0, describeRun(r));
      assert.match(r.stdout, /got a\ngot b\nstdin closed\n/, describeRun(r));
      const done = await pods.waitFor(name, 'Succeeded', (p) => p.status?.phase === 'Succeeded');
      assert.equal(containerStatus(done)?.state?.terminated?.exitCode, 0);
      // Attaching to what has ended: the apiserver's answer, as kubectl prints it.
      const again = runKubectl(w.lodge, ['attach', name], { version });
      assert.notEqual(again.code, 0, describeRun(again));
      assert.match(again.stderr, /completed pod; current phase is Succeeded/, describeRun(again));
    });
  }

  test('errors: stdin into a container without stdin: true, an unknown container, no stdio asked for', async () => {
    await running('ticker');
    const r = runKubectl(w.lodge, ['attach', '-i', 'ticker'], { input: 'x\n' });
    assert.notEqual(r.code, 0, describeRun(r));
    assert.match(r.stderr, /stdin: true/, describeRun(r));
    const path = '/api/v1/namespaces/default/pods/ticker/attach';
    const unknown = await api(w.lodge, 'GET', `${path}?container=nope&stdout=true`);
    assert.equal(unknown.status, 400, unknown.text);
    assert.match(unknown.json().message, /container nope is not valid for pod ticker/);
    const none = await api(w.lodge, 'GET', `${path}?container=c`);
    assert.equal(none.status, 400, none.text);
    assert.match(none.json().message, /at least 1 of stdin, stdout, stderr/);
    const plain = await api(w.lodge, 'GET', `${path}?stdout=true`);
    assert.equal(plain.status, 400, plain.text);
    assert.match(plain.json().message, /Upgrade request required/);
  });
});

describe('kubectl run --rm', () => {
  for (const version of VERSIONS) {
    test(`${label(version)} run -i --rm --restart=Never: piped input, the command's output, the Pod deleted`, async () => {
      const name = `run-i${version ? '-spdy' : ''}`;
      const r = runKubectl(w.lodge, ['run', name, '-i', '--rm', '--restart=Never', '--image=busybox', '--', 'sh', '-c', 'while read l; do echo "ran $l"; done'], { version, input: 'one\ntwo\n', timeoutMs: 120_000 });
      assert.equal(r.code, 0, describeRun(r));
      assert.match(r.stdout, /ran one\nran two\n/, describeRun(r));
      assert.match(r.stdout, new RegExp(`pod "${name}" deleted`), describeRun(r));
      await gone(name);
    });
  }

  test('run -it --rm in a terminal from script(1): a shell on a tty, its size, its exit', { skip: !existsSync('/usr/bin/script') ? 'no script(1)' : false }, async () => {
    const name = 'run-it';
    const argv = ['--kubeconfig', w.lodge.kubeconfig, `--cache-dir=${join(w.lodge.dataDir, 'kubectl-cache', 'run-it')}`, 'run', name, '-it', '--rm', '--restart=Never', '--image=busybox', '--', 'sh'];
    const line = `stty cols 123 rows 45; exec ${shellLine([kubectlBinary(), ...argv])}`;
    // What is typed: sh echoes it (the terminal), runs it, and exits. The size arrives through the resize channel, maybe after the first line.
    const typed = 'tty; for i in $(seq 100); do s=$(stty size); [ "$s" = "45 123" ] && break; sleep 0.1; done; echo "size=$s sum=$((40+2))"; exit 0\n';
    const r = spawnSync('script', ['-qec', line, '/dev/null'], { input: typed, encoding: 'utf8', timeout: 120_000, env: { ...process.env, HOME: w.lodge.dataDir } });
    const run = { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', command: `script -qec ${JSON.stringify(line)}` };
    assert.equal(r.status, 0, describeRun(run));
    assert.match(run.stdout, /\/dev\/pts\/\d+\r\n/, describeRun(run));
    assert.match(run.stdout, /size=45 123 sum=42\r\n/, describeRun(run));
    await gone(name);
  });
});

describe('@kubernetes/client-node Attach', () => {
  test('stdin without stdinOnce stays open from one session to the next', async () => {
    await pods.create('catter', { containers: [{ name: 'c', image: 'busybox', stdin: true, command: ['sh', '-c', 'while read l; do echo "cat $l"; done'] }] });
    await running('catter');
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(w.lodge.kubeconfig);
    const attach = new k8s.Attach(kc);
    for (const word of ['first', 'second']) {
      const stdout = new PassThrough();
      const stdin = new PassThrough();
      let out = '';
      stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
      const ws = await attach.attach('default', 'catter', 'c', stdout, null, stdin, false);
      try {
        stdin.write(`${word}\n`);
        await waitFor(`"cat ${word}" from the attached container`, async () => out.includes(`cat ${word}\n`), 30_000);
      } finally {
        ws.close();
      }
    }
    const p = await pods.get('catter');
    assert.ok(containerStatus(p)?.state?.running, JSON.stringify(p.status));
  });
});
