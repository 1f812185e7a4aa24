// Probes in a real `lodge up`: readiness drives the container's `ready` and
// the Pod's Ready/ContainersReady conditions (kubectl's READY column),
// liveness and startup failures restart the container, startup gates
// liveness, tcpSocket and httpGet reach the Pod's ports at its address (from
// the node, as the kubelet probes), and bad probes are refused at admission. Every check waits for
// a mechanism (a status field, a file the probe itself writes, a log line the
// agent writes), never for an amount of time. Pods are deleted through the
// API in the end and whatever a failed test left is swept by uid.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { api, kubectl, waitFor } from './harness.js';
import { useWorkloadLodge } from './workload-lodge.js';
import { containerIdOf, containerStatus, runcState } from './pod-fixture.js';

const NODE = `lodge-probes-e2e-${process.pid}`;
const NS = 'default';
// Short grace periods: sh as PID 1 ignores SIGTERM, so every stop waits out its grace period.
const w = useWorkloadLodge('lodge-probes-', NODE);
const { pods, dataDir } = w;

const exec = (pod: string, container: string, script: string): { code: number | null; stdout: string; stderr: string } =>
  kubectl(w.lodge, ['exec', pod, '-c', container, '--', 'sh', '-c', script]);

function execOk(pod: string, container: string, script: string): string {
  const r = exec(pod, container, script);
  assert.equal(r.code, 0, `exec in ${pod}/${container}: ${r.stderr}`);
  return r.stdout;
}

const condition = (pod: any, type: string): string | undefined => pod?.status?.conditions?.find((c: any) => c.type === type)?.status;

/** kubectl get pod's READY column, e.g. "0/1". */
function readyColumn(name: string): string {
  const r = kubectl(w.lodge, ['get', 'pod', name, '--no-headers']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split(/\s+/)[1]!;
}

/** The agent's "probe failed" log lines (its stand-in for Unhealthy events) for one container. */
function probeFailures(container: string, probe: string): Array<{ message: string; pod: string }> {
  return w.lodge
    .logs()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg?: string; container?: string; probe?: string; message: string; pod: string })
    .filter((e) => e.msg === 'probe failed' && e.container === container && e.probe === probe);
}

const running = (p: any, c = 'c'): boolean => Boolean(containerStatus(p, c)?.state?.running);
const exec1 = (command: string): Record<string, unknown> => ({ exec: { command: ['sh', '-c', command] }, periodSeconds: 1, failureThreshold: 1 });

describe('probe validation', () => {
  const bad: Array<[string, Record<string, unknown>, string]> = [
    ['liveness successThreshold != 1', { livenessProbe: { exec: { command: ['true'] }, successThreshold: 2 } }, 'spec.containers[0].livenessProbe.successThreshold'],
    ['startup successThreshold != 1', { startupProbe: { exec: { command: ['true'] }, successThreshold: 3 } }, 'spec.containers[0].startupProbe.successThreshold'],
    ['readiness terminationGracePeriodSeconds', { readinessProbe: { exec: { command: ['true'] }, terminationGracePeriodSeconds: 5 } }, 'spec.containers[0].readinessProbe.terminationGracePeriodSeconds'],
    ['liveness terminationGracePeriodSeconds 0', { livenessProbe: { exec: { command: ['true'] }, terminationGracePeriodSeconds: 0 } }, 'spec.containers[0].livenessProbe.terminationGracePeriodSeconds'],
    ['no handler', { readinessProbe: { periodSeconds: 1 } }, 'spec.containers[0].readinessProbe'],
    ['two handlers', { readinessProbe: { exec: { command: ['true'] }, tcpSocket: { port: 80 } } }, 'spec.containers[0].readinessProbe.tcpSocket'],
    ['port out of range', { readinessProbe: { tcpSocket: { port: 70000 } } }, 'spec.containers[0].readinessProbe.tcpSocket.port'],
    ['bad port name', { livenessProbe: { httpGet: { port: 'not_a_name' } } }, 'spec.containers[0].livenessProbe.httpGet.port'],
    ['bad header name', { readinessProbe: { httpGet: { port: 80, httpHeaders: [{ name: 'X Bad', value: 'v' }] } } }, 'spec.containers[0].readinessProbe.httpGet.httpHeaders'],
    ['negative initialDelaySeconds', { readinessProbe: { exec: { command: ['true'] }, initialDelaySeconds: -1 } }, 'spec.containers[0].readinessProbe.initialDelaySeconds'],
    ['negative failureThreshold', { livenessProbe: { exec: { command: ['true'] }, failureThreshold: -1 } }, 'spec.containers[0].livenessProbe.failureThreshold'],
    ['empty httpGet path', { readinessProbe: { httpGet: { port: 80, path: '' } } }, 'spec.containers[0].readinessProbe.httpGet.path'],
    ['empty exec command', { livenessProbe: { exec: { command: [] } } }, 'spec.containers[0].livenessProbe.exec.command'],
  ];
  for (const [what, probes, field] of bad) {
    test(`refused with 422: ${what}`, async () => {
      const body = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bad-probe' }, spec: { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '1'], ...probes }] } };
      const r = await api(w.lodge, 'POST', `/api/v1/namespaces/${NS}/pods`, { body: JSON.stringify(body), contentType: 'application/json' });
      assert.equal(r.status, 422, r.text);
      const causes = (r.json().details?.causes ?? []) as Array<{ field?: string }>;
      assert.ok(causes.some((c) => c.field === field), `no cause for ${field}: ${r.text}`);
    });
  }
});

describe('probes', () => {
  test('readiness (exec): not ready until the probe passes, then ready, then not ready again', async () => {
    await pods.create('ready', {
      containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'], readinessProbe: exec1('test -f /tmp/ready') }],
    });
    let pod = await pods.waitFor('ready', 'running', (p) => running(p), 120_000);
    assert.equal(containerStatus(pod).ready, false);
    assert.equal(containerStatus(pod).started, true, 'no startup probe: started once running');
    assert.equal(condition(pod, 'ContainersReady'), 'False');
    assert.equal(condition(pod, 'Ready'), 'False');
    assert.equal(readyColumn('ready'), '0/1');

    execOk('ready', 'c', 'touch /tmp/ready');
    pod = await pods.waitFor('ready', 'Ready', (p) => condition(p, 'Ready') === 'True');
    assert.equal(containerStatus(pod).ready, true);
    assert.equal(condition(pod, 'ContainersReady'), 'True');
    assert.equal(readyColumn('ready'), '1/1');

    execOk('ready', 'c', 'rm /tmp/ready');
    pod = await pods.waitFor('ready', 'not Ready again', (p) => condition(p, 'Ready') === 'False');
    assert.equal(containerStatus(pod).ready, false);
    assert.equal(containerStatus(pod).restartCount, 0, 'readiness never restarts');
    assert.match(probeFailures('c', 'readiness').find((e) => e.pod === `${NS}/ready`)?.message ?? '', /exited with 1/);
  });

  test('liveness (exec): a failing probe kills the container and it is restarted anew', async () => {
    const pod0 = await pods.create('live', {
      containers: [
        {
          name: 'c',
          image: 'busybox',
          command: ['sh', '-c', 'touch /tmp/healthy; exec sleep 3600'],
          livenessProbe: { ...exec1('test -f /tmp/healthy'), terminationGracePeriodSeconds: 1 },
        },
      ],
    });
    const id = containerIdOf(pod0.metadata.uid);
    await pods.waitFor('live', 'running', (p) => running(p) && containerStatus(p).ready, 120_000);
    const before = runcState(id);
    assert.equal(before?.status, 'running');

    execOk('live', 'c', 'rm /tmp/healthy');
    const pod = await pods.waitFor('live', 'restarted and running', (p) => containerStatus(p)?.restartCount >= 1 && running(p), 60_000);
    const last = containerStatus(pod).lastState.terminated;
    assert.equal(last.reason, 'Error');
    // sleep as PID 1 has no SIGTERM handler, so the kernel drops SIGTERM: SIGKILL after the grace period.
    assert.equal(last.exitCode, 137);
    const after = runcState(id);
    assert.equal(after?.status, 'running');
    assert.notEqual(after!.pid, before!.pid, 'a new container process');
    // The new run has a fresh root filesystem, with /tmp/healthy written again: it passes and stays.
    assert.equal(execOk('live', 'c', 'test -f /tmp/healthy && echo yes').trim(), 'yes');
    assert.ok(probeFailures('c', 'liveness').some((e) => e.pod === `${NS}/live`));
    assert.match(w.lodge.logs(), /Container c failed liveness probe, will be restarted/);
  });

  test('startup gates liveness and readiness; once started, liveness runs and restarts the container', async () => {
    // Each probe leaves a trace, so "not run" is checked against the startup probe's own count of runs.
    await pods.create('startup', {
      containers: [
        {
          name: 'c',
          image: 'busybox',
          command: ['sleep', '3600'],
          startupProbe: { exec: { command: ['sh', '-c', 'echo s >> /tmp/startup-runs; test -f /tmp/started'] }, periodSeconds: 1, failureThreshold: 1000 },
          livenessProbe: { ...exec1('echo l >> /tmp/liveness-runs; false'), terminationGracePeriodSeconds: 1 },
          readinessProbe: exec1('echo r >> /tmp/readiness-runs'),
        },
      ],
    });
    let pod = await pods.waitFor('startup', 'running', (p) => running(p), 120_000);
    await waitFor('3 startup probes', async () => execOk('startup', 'c', 'cat /tmp/startup-runs 2>/dev/null || true').split('\n').filter(Boolean).length >= 3, 30_000);
    assert.equal(execOk('startup', 'c', 'ls /tmp').split('\n').filter((f) => /-runs$/.test(f)).sort().join(','), 'startup-runs', 'only the startup probe has run');
    pod = (await pods.get('startup'))!;
    assert.equal(containerStatus(pod).started, false);
    assert.equal(containerStatus(pod).ready, false);
    assert.equal(containerStatus(pod).restartCount, 0);

    execOk('startup', 'c', 'touch /tmp/started');
    // Started: liveness now runs, fails once, and the container restarts (its new run is unstarted again).
    pod = await pods.waitFor('startup', 'restarted by liveness', (p) => containerStatus(p)?.restartCount >= 1, 60_000);
    assert.ok(probeFailures('c', 'liveness').some((e) => e.pod === `${NS}/startup`));
  });

  test('a failing startup probe restarts the container', async () => {
    await pods.create('nostart', {
      containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'], startupProbe: { ...exec1('false'), terminationGracePeriodSeconds: 1 } }],
    });
    const pod = await pods.waitFor('nostart', 'restarted', (p) => containerStatus(p)?.restartCount >= 1, 120_000);
    assert.equal(containerStatus(pod).started, false);
    assert.ok(containerStatus(pod).lastState.terminated);
    assert.ok(probeFailures('c', 'startup').some((e) => e.pod === `${NS}/nostart`));
  });

  test('tcpSocket and httpGet reach the Pod\'s ports at its address', async () => {
    const sleeper = (name: string, readinessProbe: Record<string, unknown>): Record<string, unknown> => ({ name, image: 'busybox', command: ['sleep', '3600'], readinessProbe });
    await pods.create('net', {
      containers: [
        {
          name: 'web',
          image: 'busybox',
          command: ['sh', '-c', 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www'],
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/index.html', port: 'http', httpHeaders: [{ name: 'X-Probe', value: 'yes' }] }, periodSeconds: 1 },
        },
        // The containers share the network namespace: web's port is reachable from each one's probes.
        sleeper('tcp', { tcpSocket: { port: 8080 }, periodSeconds: 1 }),
        sleeper('closed', { tcpSocket: { port: 8081 }, periodSeconds: 1, failureThreshold: 1 }),
        sleeper('flag', { httpGet: { path: '/flag.html', port: 8080 }, periodSeconds: 1, failureThreshold: 1 }),
      ],
    });
    let pod = await pods.waitFor('net', 'web and tcp ready', (p) => containerStatus(p, 'web')?.ready && containerStatus(p, 'tcp')?.ready, 120_000);
    // The others were probed and failed (the agent logs a failure streak once), at the Pod's address as the kubelet probes.
    const refused = `dial tcp ${pod.status.podIP}:8081: connect: connection refused`;
    await waitFor('closed port refused at the Pod IP', async () => probeFailures('closed', 'readiness').some((e) => e.message === refused), 30_000);
    await waitFor('flag 404', async () => probeFailures('flag', 'readiness').some((e) => /statuscode: 404/.test(e.message)), 30_000);
    pod = (await pods.get('net'))!;
    assert.equal(containerStatus(pod, 'closed').ready, false);
    assert.equal(containerStatus(pod, 'flag').ready, false);
    assert.equal(condition(pod, 'Ready'), 'False');
    assert.equal(readyColumn('net'), '2/4');

    execOk('net', 'web', 'echo ok > /www/flag.html');
    pod = await pods.waitFor('net', 'flag ready', (p) => containerStatus(p, 'flag')?.ready);
    assert.equal(readyColumn('net'), '3/4');
  });

  test('SIGKILL of lodge: probing starts again from scratch and the containers are left running', async () => {
    const live = (await pods.get('live'))!;
    const restarts = containerStatus(live).restartCount;
    const pid = runcState(containerIdOf(live.metadata.uid))!.pid;
    await w.lodge.kill();
    await w.restart();
    // The new agent's probes run: the readiness pod (left not ready) becomes ready when its probe passes.
    execOk('ready', 'c', 'touch /tmp/ready');
    await pods.waitFor('ready', 'Ready after restart', (p) => condition(p, 'Ready') === 'True', 60_000);
    const pod = await pods.waitFor('live', 'ready after restart', (p) => containerStatus(p)?.ready);
    assert.equal(containerStatus(pod).restartCount, restarts, 'a restarted agent does not restart healthy containers');
    assert.equal(runcState(containerIdOf(live.metadata.uid))!.pid, pid);
  });
});
