// The node agent in a real `lodge up`: Pods run as runc containers, restart
// with back-off, survive a SIGKILL of lodge, and leave nothing on the host
// when deleted. Every check polls the API or the host for a mechanism, never
// a timing. Pods are deleted through the API in the end, and whatever a
// failed test left (runc containers, netns, mounts, cgroups) is swept by the
// pod uids this file created.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { api, waitFor } from './harness.js';
import { useWorkloadLodge } from './workload-lodge.js';
import { containerIdOf, containerStatus, mountsMentioning, podCgroups, runcState } from './pod-fixture.js';

const NODE = `lodge-e2e-${process.pid}`;
const NS = 'default';
const w = useWorkloadLodge('lodge-agent-', NODE, { podDefaults: {} });
const { pods, dataDir } = w;
const createPod = (name: string, spec: Record<string, unknown>): Promise<any> => pods.create(name, spec);
const getPod = (name: string): Promise<any> => pods.get(name);
const status = containerStatus;
const cid = containerIdOf;

describe('node agent', () => {
  test('registers its Node with a Ready condition, node info and a Lease', async () => {
    const node = await waitFor('node ready', async () => {
      const r = await api(w.lodge, 'GET', `/api/v1/nodes/${NODE}`);
      const n = r.status === 200 ? r.json() : undefined;
      return n?.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') ? n : undefined;
    });
    assert.match(node.metadata.labels['lodge.dev/kvm'], /^(true|false)$/);
    // The VM driver's probe: KVM only where a vCPU really runs under it (TCG on kvm_pvm hosts such as these).
    assert.match(node.metadata.labels['lodge.dev/accelerator'], /^(kvm|tcg|none)$/);
    assert.equal(node.metadata.labels['lodge.dev/kvm'], String(node.metadata.labels['lodge.dev/accelerator'] === 'kvm'));
    assert.match(node.metadata.annotations['lodge.dev/accelerator-reason'], /^(KVM|TCG|qemu)/);
    assert.equal(node.status.nodeInfo.kubeletVersion, 'v1.33.0-lodge');
    assert.match(node.status.nodeInfo.containerRuntimeVersion, /^runc:\/\//);
    assert.ok(Number(node.status.capacity.cpu) > 0);
    assert.equal(node.status.capacity.pods, '110');
    assert.deepEqual(node.status.addresses.map((a: any) => a.type).sort(), ['Hostname', 'InternalIP']);
    const lease = await api(w.lodge, 'GET', `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${NODE}`);
    assert.equal(lease.status, 200, lease.text);
    assert.equal(lease.json().spec.holderIdentity, NODE);
  });

  let sleeper: any;
  test('a busybox Pod is bound, runs and logs in CRI format', async () => {
    sleeper = await createPod('sleeper', {
      terminationGracePeriodSeconds: 2,
      containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'echo hi; sleep 3600'] }],
    });
    const pod = await waitFor('sleeper Running', async () => {
      const p = await getPod('sleeper');
      return p?.status?.phase === 'Running' && status(p)?.state?.running ? p : undefined;
    }, 120_000);
    assert.equal(pod.spec.nodeName, NODE);
    assert.equal(status(pod).ready, true);
    assert.equal(status(pod).restartCount, 0);
    assert.ok(pod.status.conditions.some((c: any) => c.type === 'Ready' && c.status === 'True'));
    const log = join(dataDir, 'pods', sleeper.metadata.uid, 'logs', 'c', '0.log');
    await waitFor('hi in the log', async () => existsSync(log) && / stdout F hi$/m.test(readFileSync(log, 'utf8')));
    assert.equal(runcState(cid(sleeper.metadata.uid))?.status, 'running');
    assert.ok(existsSync(`/run/netns/lodge-${sleeper.metadata.uid}`));
  });

  test('a Pod whose image is not on the node waits with ErrImagePull', async () => {
    await createPod('noimage', { containers: [{ name: 'c', image: 'example.invalid/nothing:1' }] });
    const pod = await waitFor('ErrImagePull', async () => {
      const p = await getPod('noimage');
      return status(p)?.state?.waiting?.reason === 'ErrImagePull' ? p : undefined;
    }, 60_000);
    assert.match(status(pod).state.waiting.message, /lodge image import/);
    assert.equal(pod.status.phase, 'Pending');
  });

  test('a failing container is restarted with back-off (CrashLoopBackOff)', async () => {
    const crasher = await createPod('crasher', { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'busybox:1.36', command: ['sh', '-c', 'exit 3'] }] });
    let sawBackoff = false;
    const pod = await waitFor('restartCount >= 2 and CrashLoopBackOff seen', async () => {
      const p = await getPod('crasher');
      const s = status(p);
      if (s?.state?.waiting?.reason === 'CrashLoopBackOff') sawBackoff = true;
      return sawBackoff && s?.restartCount >= 2 ? p : undefined;
    }, 90_000);
    assert.equal(status(pod).lastState.terminated.exitCode, 3);
    assert.equal(pod.status.phase, 'Running');
    assert.equal(runcState(cid(crasher.metadata.uid)) !== undefined, true);
  });

  test('SIGKILL of lodge: the container keeps running and is re-adopted', async () => {
    const uid = sleeper.metadata.uid;
    const before = runcState(cid(uid));
    assert.equal(before?.status, 'running');
    await w.lodge.kill();
    assert.equal(runcState(cid(uid))?.pid, before!.pid, 'the container outlives lodge');
    await w.restart();
    // A status write after the restart shows the agent has looked at it again.
    await waitFor('node heartbeat after restart', async () => (await api(w.lodge, 'GET', `/api/v1/nodes/${NODE}`)).status === 200);
    const pod = await waitFor('sleeper Running after restart', async () => {
      const p = await getPod('sleeper');
      return p?.status?.phase === 'Running' && status(p)?.state?.running ? p : undefined;
    });
    assert.equal(status(pod).restartCount, 0);
    const after = runcState(cid(uid));
    assert.equal(after?.pid, before!.pid, 'same process, not a new container');
    const mine = readdirSync(join(dataDir, 'runtime', 'containers')).filter((id) => id.startsWith(`p-${uid}-`));
    assert.deepEqual(mine, [cid(uid)]);
  });

  test('deleting a Pod stops it and leaves nothing on the host', async () => {
    const uid = sleeper.metadata.uid;
    const r = await api(w.lodge, 'DELETE', `/api/v1/namespaces/${NS}/pods/sleeper`);
    assert.equal(r.status, 202, r.text); // graceful: the agent stops it, then removes it
    await waitFor('sleeper gone', async () => (await getPod('sleeper')) === undefined, 60_000);
    assert.equal(runcState(cid(uid)), undefined);
    assert.equal(existsSync(`/run/netns/lodge-${uid}`), false, 'netns removed');
    assert.deepEqual(mountsMentioning(uid), []);
    assert.deepEqual(podCgroups(uid), []);
    assert.equal(existsSync(join(dataDir, 'pods', uid)), false);
    assert.equal(existsSync(join(dataDir, 'runtime', 'containers', cid(uid))), false);
  });
});
