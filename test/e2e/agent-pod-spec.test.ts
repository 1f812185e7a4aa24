// Pod spec features the node agent implements, end to end against a real
// `lodge up`: init containers (ordering, back-off, Never → Failed, kubectl's
// Init:* statuses, no re-run after an agent restart), emptyDir volumes (on
// disk and tmpfs, subPath, readOnly, shared, surviving restarts, unmounted
// on delete), configMap/secret volumes, env from fields, resources,
// ConfigMaps and Secrets, the per-Pod pids limit, and memory/CPU limits seen
// through Pods (OOMKilled, CFS throttling). Every check polls the API or the
// host for a mechanism, never a timing. Pods are deleted through the API in
// the end and whatever a failed test left on the host is swept by pod uid.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api, parseTable, removeDir, runKubectl, shutdown, startLodge, waitFor, type Lodge } from './harness.js';
import { PodFixture, containerIdOf, containerStatus, mountsMentioning, podCgroups, runcState } from './pod-fixture.js';

const NODE = `lodge-spec-${process.pid}`;
const NS = 'default';
const PIDS_LIMIT = 64;
const dataDir = mkdtempSync(join(tmpdir(), 'lodge-podspec-'));
let lodge: Lodge | undefined;
const pods = new PodFixture(() => lodge, NS, { terminationGracePeriodSeconds: 1 });

function start(): Promise<Lodge> {
  return startLodge({ dataDir, args: ['--node-name', NODE, '--pod-pids-limit', String(PIDS_LIMIT)] });
}

before(async () => {
  lodge = await start();
});

after(async () => {
  try {
    if (lodge && lodge.proc.exitCode === null && lodge.proc.signalCode === null) {
      await pods.deleteAll();
      for (const kind of ['configmaps', 'secrets']) {
        const r = await api(lodge, 'GET', `/api/v1/namespaces/${NS}/${kind}`);
        for (const o of r.status === 200 ? (r.json().items as any[]) : []) await api(lodge, 'DELETE', `/api/v1/namespaces/${NS}/${kind}/${o.metadata.name}`);
      }
    }
  } finally {
    await shutdown(lodge, dataDir).catch(() => undefined);
    pods.sweepHost([dataDir]);
    removeDir(dataDir);
  }
});

const initStatus = (pod: any, name: string): any => pod?.status?.initContainerStatuses?.find((s: any) => s.name === name);
const condition = (pod: any, type: string): any => pod?.status?.conditions?.find((c: any) => c.type === type);

/** The text of each line a container run wrote (CRI log: "<time> <stream> <F|P> <text>", partial lines joined). */
function logLines(uid: string, container: string, run = 0): string[] {
  const file = join(dataDir, 'pods', uid, 'logs', container, `${run}.log`);
  if (!existsSync(file)) return [];
  const out: string[] = [];
  let partial = '';
  for (const l of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const [, , tag, ...text] = l.split(' ');
    partial += text.join(' ');
    if (tag === 'F') {
      out.push(partial);
      partial = '';
    }
  }
  return out;
}

/** A file of a container's cgroup, in whichever hierarchy (v1 or v2) has it. */
function cgroupFile(uid: string, container: string, file: string): string | undefined {
  return podCgroups(uid)
    .map((d) => join(d, container, file))
    .find((f) => existsSync(f));
}

/** kubectl get pod NAME's STATUS cell (the server-side table). */
function tableStatus(name: string): string {
  const r = runKubectl(lodge!, ['get', 'pod', name, '-n', NS]);
  assert.equal(r.code, 0, r.stderr);
  return parseTable(r.stdout).rows[0]?.STATUS ?? '';
}

async function createObject(kind: 'configmaps' | 'secrets', body: Record<string, unknown>): Promise<void> {
  const r = await api(lodge!, 'POST', `/api/v1/namespaces/${NS}/${kind}`, { body: JSON.stringify(body), contentType: 'application/json' });
  assert.equal(r.status, 201, r.text);
}

const sh = (script: string): string[] => ['sh', '-c', script];
const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('pod spec on the node agent', () => {
  test('init containers run in order to completion before the app, sharing an emptyDir', async () => {
    const pod = await pods.create('init-order', {
      volumes: [{ name: 'work', emptyDir: {} }],
      initContainers: [
        // Waits for a file the test drops into the volume from the host: the Pod is observably initializing meanwhile.
        { name: 'first', image: 'busybox', command: sh('echo first >> /work/order; until [ -f /work/go ]; do sleep 0.1; done'), volumeMounts: [{ name: 'work', mountPath: '/work' }] },
        { name: 'second', image: 'busybox', command: sh('echo second >> /work/order'), volumeMounts: [{ name: 'work', mountPath: '/work' }] },
      ],
      containers: [{ name: 'c', image: 'busybox', command: sh('echo app >> /work/order; cat /work/order; exec sleep 3600'), volumeMounts: [{ name: 'work', mountPath: '/work' }] }],
    });
    const uid = pod.metadata.uid;
    const initializing = await pods.waitFor('init-order', 'first init container running', (p) => initStatus(p, 'first')?.state?.running, 120_000);
    assert.equal(initializing.status.phase, 'Pending');
    assert.equal(condition(initializing, 'Initialized').status, 'False');
    assert.equal(condition(initializing, 'Initialized').reason, 'ContainersNotInitialized');
    assert.equal(initStatus(initializing, 'second').state.waiting.reason, 'PodInitializing');
    assert.equal(containerStatus(initializing).state.waiting.reason, 'PodInitializing');
    assert.equal(runcState(containerIdOf(uid, 'c')), undefined, 'the app container is not created while initializing');
    assert.equal(tableStatus('init-order'), 'Init:0/2');

    writeFileSync(join(dataDir, 'pods', uid, 'volumes', 'kubernetes.io~empty-dir', 'work', 'go'), '');
    const running = await pods.waitFor('init-order', 'Running', (p) => p.status?.phase === 'Running' && containerStatus(p)?.state?.running);
    for (const name of ['first', 'second']) {
      const s = initStatus(running, name);
      assert.equal(s.state.terminated.exitCode, 0, name);
      assert.equal(s.state.terminated.reason, 'Completed', name);
      assert.equal(s.ready, true, name);
    }
    assert.equal(condition(running, 'Initialized').status, 'True');
    await waitFor('app log', async () => logLines(uid, 'c').includes('app'));
    assert.deepEqual(logLines(uid, 'c'), ['first', 'second', 'app']);
    assert.equal(tableStatus('init-order'), 'Running');

    // A SIGKILLed agent comes back and leaves completed init containers alone.
    const appPid = runcState(containerIdOf(uid, 'c'))!.pid;
    await lodge!.kill();
    lodge = await start();
    // A Pod created after the restart is run only once the agent has gone through the Pods it found at start.
    await pods.create('after-restart', { containers: [{ name: 'c', image: 'busybox', command: sh('exec sleep 3600') }] });
    await pods.waitFor('after-restart', 'Running', (p) => containerStatus(p)?.state?.running);
    const again = await pods.waitFor('init-order', 'still Running', (p) => containerStatus(p)?.state?.running);
    assert.equal(runcState(containerIdOf(uid, 'c'))?.pid, appPid, 'the app container was not restarted');
    assert.equal(readFileSync(join(dataDir, 'pods', uid, 'volumes', 'kubernetes.io~empty-dir', 'work', 'order'), 'utf8'), 'first\nsecond\napp\n', 'no init container ran again');
    assert.equal(initStatus(again, 'first').restartCount, 0);
  });

  test('a failing init container fails the Pod under restartPolicy Never (Init:Error)', async () => {
    const pod = await pods.create('init-never', {
      restartPolicy: 'Never',
      initContainers: [{ name: 'setup', image: 'busybox', command: sh('exit 2') }],
      containers: [{ name: 'c', image: 'busybox', command: sh('exec sleep 3600') }],
    });
    const failed = await pods.waitFor('init-never', 'Failed', (p) => p.status?.phase === 'Failed', 120_000);
    const s = initStatus(failed, 'setup');
    assert.equal(s.state.terminated.exitCode, 2);
    assert.equal(s.state.terminated.reason, 'Error');
    assert.equal(s.restartCount, 0);
    assert.equal(containerStatus(failed).state.waiting.reason, 'PodInitializing');
    assert.equal(condition(failed, 'Initialized').status, 'False');
    assert.equal(runcState(containerIdOf(pod.metadata.uid, 'c')), undefined, 'the app container never ran');
    assert.equal(tableStatus('init-never'), 'Init:Error');
  });

  test('a failing init container is retried with back-off (Init:CrashLoopBackOff)', async () => {
    const pod = await pods.create('init-crash', {
      initContainers: [{ name: 'setup', image: 'busybox', command: sh('exit 1') }],
      containers: [{ name: 'c', image: 'busybox', command: sh('exec sleep 3600') }],
    });
    const backoff = await pods.waitFor('init-crash', 'init container in back-off', (p) => initStatus(p, 'setup')?.state?.waiting?.reason === 'CrashLoopBackOff', 120_000);
    const s = initStatus(backoff, 'setup');
    assert.ok(s.restartCount >= 1);
    assert.equal(s.lastState.terminated.exitCode, 1);
    assert.equal(backoff.status.phase, 'Pending');
    assert.equal(containerStatus(backoff).state.waiting.reason, 'PodInitializing');
    assert.equal(runcState(containerIdOf(pod.metadata.uid, 'c')), undefined);
    // The table is read separately from the Pod: poll until it shows the back-off too.
    await waitFor('Init:CrashLoopBackOff in kubectl get', async () => tableStatus('init-crash') === 'Init:CrashLoopBackOff', 60_000, 500);
  });

  test('emptyDir volumes: shared, subPath, readOnly, tmpfs with sizeLimit, kept across restarts, removed with the Pod', async () => {
    const pod = await pods.create('volumes', {
      volumes: [
        { name: 'data', emptyDir: {} },
        { name: 'mem', emptyDir: { medium: 'Memory', sizeLimit: '8Mi' } },
      ],
      containers: [
        {
          name: 'writer',
          image: 'busybox',
          command: sh('mkdir -p /data/sub; echo hello > /data/sub/x; echo inmem > /mem/m; grep " /mem " /proc/mounts; exec sleep 3600'),
          volumeMounts: [
            { name: 'data', mountPath: '/data' },
            { name: 'mem', mountPath: '/mem' },
          ],
        },
        {
          name: 'reader',
          image: 'busybox',
          command: sh('until [ -f /sub/x ]; do sleep 0.1; done; cat /sub/x; if touch /ro/y 2>/dev/null; then echo ro-writable; else echo ro-denied; fi; cat /mem/m; exec sleep 3600'),
          volumeMounts: [
            { name: 'data', mountPath: '/sub', subPath: 'sub' },
            { name: 'data', mountPath: '/ro', readOnly: true },
            { name: 'mem', mountPath: '/mem' },
          ],
        },
        {
          // Exits once; its second run finds what the first left in the volume.
          name: 'restarter',
          image: 'busybox',
          command: sh('if [ -f /cache/ran ]; then echo second-run; exec sleep 3600; fi; touch /cache/ran; exit 1'),
          volumeMounts: [{ name: 'data', mountPath: '/cache' }],
        },
      ],
    });
    const uid = pod.metadata.uid;
    await pods.waitFor('volumes', 'all containers running', (p) => ['writer', 'reader', 'restarter'].every((c) => containerStatus(p, c)?.state?.running), 120_000);
    await waitFor('reader output', async () => logLines(uid, 'reader').length >= 3);
    assert.deepEqual(logLines(uid, 'reader'), ['hello', 'ro-denied', 'inmem']);
    await waitFor('restarter second run', async () => logLines(uid, 'restarter', 1).includes('second-run'));
    assert.match(logLines(uid, 'writer')[0] ?? '', /^tmpfs \/mem tmpfs /);

    const volumes = join(dataDir, 'pods', uid, 'volumes', 'kubernetes.io~empty-dir');
    const memMount = mountsMentioning(join(volumes, 'mem')).find((l) => l.split(' ')[4] === join(volumes, 'mem'));
    assert.ok(memMount, 'the Memory emptyDir is a tmpfs mounted on the host');
    assert.match(memMount, / - tmpfs tmpfs .*size=8192k/);
    assert.equal(readFileSync(join(volumes, 'data', 'sub', 'x'), 'utf8'), 'hello\n');

    const r = await api(lodge!, 'DELETE', `/api/v1/namespaces/${NS}/pods/volumes`);
    assert.equal(r.status, 202, r.text);
    await waitFor('volumes gone', async () => (await pods.get('volumes')) === undefined, 60_000);
    assert.deepEqual(mountsMentioning(uid), []);
    assert.equal(existsSync(join(dataDir, 'pods', uid)), false);
  });

  test('configMap and secret volumes project keys as files; unsupported volume types wait with a clear reason', async () => {
    await createObject('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'vol-cm' }, data: { 'app.conf': 'port=80\n', other: 'x' } });
    await createObject('secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vol-secret' }, data: { token: b64('t0ken') } });
    const pod = await pods.create('projected', {
      volumes: [
        { name: 'cfg', configMap: { name: 'vol-cm', items: [{ key: 'app.conf', path: 'conf/app.conf' }] } },
        { name: 'sec', secret: { secretName: 'vol-secret' } },
      ],
      containers: [
        {
          name: 'c',
          image: 'busybox',
          command: sh('cat /etc/cfg/conf/app.conf; ls /etc/cfg; cat /etc/sec/token; echo; if touch /etc/cfg/y 2>/dev/null; then echo writable; else echo read-only; fi; exec sleep 3600'),
          volumeMounts: [
            { name: 'cfg', mountPath: '/etc/cfg' },
            { name: 'sec', mountPath: '/etc/sec' },
          ],
        },
      ],
    });
    await pods.waitFor('projected', 'running', (p) => containerStatus(p)?.state?.running, 120_000);
    await waitFor('projected output', async () => logLines(pod.metadata.uid, 'c').length >= 4);
    assert.deepEqual(logLines(pod.metadata.uid, 'c'), ['port=80', 'conf', 't0ken', 'read-only']);
    const secretDir = join(dataDir, 'pods', pod.metadata.uid, 'volumes', 'kubernetes.io~secret', 'sec');
    assert.ok(mountsMentioning(secretDir).some((l) => l.split(' ')[4] === secretDir && / - tmpfs /.test(l)), 'secrets live on a tmpfs');

    await pods.create('hostpath', {
      volumes: [{ name: 'host', hostPath: { path: '/etc' } }],
      containers: [{ name: 'c', image: 'busybox', command: sh('exec sleep 3600'), volumeMounts: [{ name: 'host', mountPath: '/host' }] }],
    });
    const waiting = await pods.waitFor('hostpath', 'CreateContainerConfigError', (p) => containerStatus(p)?.state?.waiting?.reason === 'CreateContainerConfigError', 120_000);
    assert.match(containerStatus(waiting).state.waiting.message, /volume "host": hostPath volumes are not supported/);
    assert.equal(waiting.status.phase, 'Pending');
  });

  test('env from fields, resources, ConfigMaps and Secrets, with $(VAR) expansion', async () => {
    await createObject('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'env-cm' }, data: { greeting: 'hello', LEVEL: 'debug' } });
    // "1st" is a fine key but not a variable name: envFrom skips it, as the kubelet does.
    await createObject('secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'env-secret' }, data: { password: b64('s3cret'), '1st': b64('skipped') } });
    const pod = await pods.create(
      'envpod',
      {
        serviceAccountName: 'default',
        containers: [
          {
            name: 'c',
            image: 'busybox',
            command: sh('env | sort; echo "arg0=$0"; exec sleep 3600'),
            args: ['$(GREETING)-arg'],
            resources: { limits: { cpu: '250m', memory: '64Mi' } },
            envFrom: [{ configMapRef: { name: 'env-cm' }, prefix: 'CM_' }, { secretRef: { name: 'env-secret' } }, { configMapRef: { name: 'absent-cm', optional: true } }],
            env: [
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              { name: 'POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
              { name: 'APP_LABEL', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
              { name: 'NOTE', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['note']" } } },
              { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
              { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
              { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
              { name: 'MEM_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
              { name: 'CPU_MILLI', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
              { name: 'CPU_CORES', valueFrom: { resourceFieldRef: { containerName: 'c', resource: 'limits.cpu' } } },
              { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'env-cm', key: 'greeting' } } },
              { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'env-secret', key: 'password' } } },
              { name: 'OPTIONAL_CM', valueFrom: { configMapKeyRef: { name: 'absent-cm', key: 'k', optional: true } } },
              { name: 'OPTIONAL_KEY', valueFrom: { configMapKeyRef: { name: 'env-cm', key: 'nokey', optional: true } } },
              { name: 'COMPOSED', value: '$(GREETING)-$(POD_NAME)-$$(POD_NAME)-$(UNDEFINED)' },
            ],
          },
        ],
      },
      { labels: { app: 'envtest' }, annotations: { note: 'n1' } },
    );
    const uid = pod.metadata.uid;
    await pods.waitFor('envpod', 'running', (p) => containerStatus(p)?.state?.running, 120_000);
    await waitFor('env printed', async () => logLines(uid, 'c').some((l) => l.startsWith('arg0=')));
    const env = new Map(logLines(uid, 'c').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const expected: Record<string, string> = {
      POD_NAME: 'envpod',
      POD_NAMESPACE: NS,
      POD_UID: uid,
      APP_LABEL: 'envtest',
      NOTE: 'n1',
      NODE: NODE,
      SA: 'default',
      HOST_IP: '127.0.0.1',
      MEM_MI: '64',
      CPU_MILLI: '250',
      CPU_CORES: '1',
      GREETING: 'hello',
      PASSWORD: 's3cret',
      CM_greeting: 'hello',
      CM_LEVEL: 'debug',
      password: 's3cret',
      COMPOSED: 'hello-envpod-$(POD_NAME)-$(UNDEFINED)',
      arg0: 'hello-arg',
    };
    for (const [k, v] of Object.entries(expected)) assert.equal(env.get(k), v, k);
    for (const k of ['OPTIONAL_CM', 'OPTIONAL_KEY', '1st']) assert.equal(env.has(k), false, k);
    assert.ok(env.get('PATH'), 'the image PATH is kept');
  });

  test('a missing ConfigMap holds the container in CreateContainerConfigError until it exists', async () => {
    await pods.create('envwait', {
      containers: [{ name: 'c', image: 'busybox', command: sh('echo "v=$V"; exec sleep 3600'), env: [{ name: 'V', valueFrom: { configMapKeyRef: { name: 'later-cm', key: 'k' } } }] }],
    });
    const missing = await pods.waitFor('envwait', 'CreateContainerConfigError', (p) => containerStatus(p)?.state?.waiting?.reason === 'CreateContainerConfigError', 120_000);
    assert.equal(containerStatus(missing).state.waiting.message, 'configmap "later-cm" not found');
    assert.equal(missing.status.phase, 'Pending');

    await createObject('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'later-cm' }, data: { other: 'x' } });
    const noKey = await pods.waitFor('envwait', 'missing key reported', (p) => /couldn't find key/.test(containerStatus(p)?.state?.waiting?.message ?? ''), 60_000);
    assert.equal(containerStatus(noKey).state.waiting.message, `couldn't find key k in ConfigMap ${NS}/later-cm`);

    const r = await api(lodge!, 'PATCH', `/api/v1/namespaces/${NS}/configmaps/later-cm`, { body: JSON.stringify({ data: { k: 'now' } }), contentType: 'application/merge-patch+json' });
    assert.equal(r.status, 200, r.text);
    const running = await pods.waitFor('envwait', 'running', (p) => containerStatus(p)?.state?.running, 60_000);
    await waitFor('value in the log', async () => logLines(running.metadata.uid, 'c').includes('v=now'));
  });

  test('the per-Pod pids limit is the container cgroup pids.max and stops a fork loop', async () => {
    const pod = await pods.create('pids', {
      containers: [{ name: 'c', image: 'busybox', command: sh('( i=0; while [ $i -lt 200 ]; do sleep 3600 & i=$((i+1)); done ) 2>&1; echo fork-loop-done; exec sleep 3600') }],
    });
    const uid = pod.metadata.uid;
    await pods.waitFor('pids', 'running', (p) => containerStatus(p)?.state?.running, 120_000);
    await waitFor('fork loop done', async () => logLines(uid, 'c').includes('fork-loop-done'), 60_000);
    const max = cgroupFile(uid, 'c', 'pids.max');
    assert.ok(max, `pids.max of ${uid}/c in ${podCgroups(uid).join(', ')}`);
    assert.equal(readFileSync(max, 'utf8').trim(), String(PIDS_LIMIT));
    const current = Number(readFileSync(join(max, '..', 'pids.current'), 'utf8'));
    assert.ok(current <= PIDS_LIMIT, `pids.current ${current} <= ${PIDS_LIMIT}`);
    assert.ok(current >= PIDS_LIMIT - 2, `the loop filled the limit (pids.current ${current})`);
    assert.ok(logLines(uid, 'c').some((l) => /can't fork/i.test(l)), logLines(uid, 'c').join('\n'));
  });

  test('a container over its memory limit is OOMKilled', async () => {
    await pods.create('oom', {
      restartPolicy: 'Never',
      containers: [{ name: 'c', image: 'busybox', command: sh('x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived ${#x}'), resources: { limits: { memory: '32Mi' } } }],
    });
    const done = await pods.waitFor('oom', 'terminated', (p) => containerStatus(p)?.state?.terminated, 120_000);
    const t = containerStatus(done).state.terminated;
    assert.equal(t.reason, 'OOMKilled', JSON.stringify(t));
    assert.equal(t.exitCode, 137);
    assert.equal(done.status.phase, 'Failed');
    assert.equal(tableStatus('oom'), 'OOMKilled');
  });

  test('a CPU limit sets the CFS quota and throttles a busy loop; ports are kept as given', async () => {
    const ports = [
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { containerPort: 5353, protocol: 'UDP' },
    ];
    const pod = await pods.create('cpu', {
      containers: [{ name: 'c', image: 'busybox', command: sh('while :; do :; done'), resources: { limits: { cpu: '100m' } }, ports }],
    });
    const uid = pod.metadata.uid;
    const running = await pods.waitFor('cpu', 'running', (p) => containerStatus(p)?.state?.running, 120_000);
    assert.deepEqual(running.spec.containers[0].ports, ports);
    const v1Quota = cgroupFile(uid, 'c', 'cpu.cfs_quota_us');
    if (v1Quota) {
      assert.equal(readFileSync(v1Quota, 'utf8').trim(), '10000');
      assert.equal(readFileSync(join(v1Quota, '..', 'cpu.cfs_period_us'), 'utf8').trim(), '100000');
    } else {
      const cpuMax = cgroupFile(uid, 'c', 'cpu.max');
      assert.ok(cpuMax, 'cpu.max or cpu.cfs_quota_us');
      assert.equal(readFileSync(cpuMax, 'utf8').trim(), '10000 100000');
    }
    const stat = cgroupFile(uid, 'c', 'cpu.stat');
    assert.ok(stat);
    await waitFor('throttled periods', async () => /^nr_throttled [1-9]/m.test(readFileSync(stat, 'utf8')), 60_000, 200);

    const described = runKubectl(lodge!, ['describe', 'pod', 'cpu', '-n', NS]);
    assert.equal(described.code, 0, described.stderr);
    assert.match(described.stdout, /Ports:\s+8080\/TCP, 5353\/UDP/);
  });
});
