// Leader election on a real store: of several candidates exactly one leads;
// a clean stop hands over at once; a holder that stops renewing (a crash) is
// replaced after the lease duration, and not before; a holder whose process
// is gone from this host is replaced at once.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { controllerWrite } from '../../src/controllers/runtime/informer-factory.js';
import { holderIsGone, LeaderElector, leaderIdentity } from '../../src/controllers/runtime/leader-election.js';
import type { Logger } from '../../src/util/log.js';
import { ControllerEnv, eventually } from './controller-env.js';

const quiet: Logger = { info: () => {}, warn: () => {}, error: (m, f) => process.stderr.write(`${JSON.stringify({ m, ...f })}\n`), child: () => quiet };
const timing = { leaseDurationMs: 1200, renewDeadlineMs: 800, retryPeriodMs: 100 };

let env: ControllerEnv;

interface Candidate {
  id: string;
  leading: boolean;
  terms: number;
  stop(): Promise<void>;
}

function candidate(id: string, name = 'test-lease'): Candidate {
  const abort = new AbortController();
  const c: Candidate = { id, leading: false, terms: 0, stop: async () => {} };
  const elector = new LeaderElector({ svc: env.svc, log: quiet, name, identity: id, timing });
  const done = elector.run(abort.signal, async (term) => {
    c.leading = true;
    c.terms++;
    await new Promise<void>((r) => term.addEventListener('abort', () => r(), { once: true }));
    c.leading = false;
  });
  c.stop = async () => {
    abort.abort();
    await done;
  };
  return c;
}

describe('leader election', () => {
  before(async () => {
    env = await ControllerEnv.open('lodge-leader-', quiet);
  });
  after(async () => {
    await env.close();
  });

  test('one of three leads; a clean stop hands the lease over at once', async () => {
    const cs = ['a', 'b', 'c'].map((id) => candidate(`cand-${id}`));
    const leader = await eventually('a leader', async () => cs.find((c) => c.leading));
    // Hold for a few renewals: nobody else ever leads meanwhile.
    for (let i = 0; i < 10; i++) {
      assert.equal(cs.filter((c) => c.leading).length, 1);
      await new Promise((r) => setTimeout(r, 50));
    }
    const leases = env.svc.registry.resource('coordination.k8s.io', 'v1', 'leases')!;
    const lease = (await env.svc.get(leases, 'kube-system', 'test-lease')).obj.spec as { holderIdentity: string };
    assert.equal(lease.holderIdentity, leader.id);
    const t0 = Date.now();
    await leader.stop();
    const next = await eventually('a new leader', async () => cs.find((c) => c !== leader && c.leading));
    // Released, so well within a lease duration (a retry period or two); not asserted as a timing, only as "it happened".
    assert.ok(next);
    assert.ok(Date.now() - t0 < 60_000);
    for (const c of cs) await c.stop();
  });

  test('a holder that stops renewing is replaced after the lease duration; one whose process is gone at once', async () => {
    const leases = env.svc.registry.resource('coordination.k8s.io', 'v1', 'leases')!;
    const write = controllerWrite('test');
    const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    // A holder on another host, renewed just now and never again.
    await env.svc.create(leases, 'kube-system', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'crashed' }, spec: { holderIdentity: 'elsewhere_0000_1_abc', leaseDurationSeconds: 1, renewTime: now } }, write);
    const c = candidate('cand-d', 'crashed');
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(c.leading, false, 'the lease has not expired yet');
    await eventually('taken over after expiry', async () => c.leading, 10_000);
    const spec = (await env.svc.get(leases, 'kube-system', 'crashed')).obj.spec as { holderIdentity: string; leaseTransitions: number };
    assert.equal(spec.holderIdentity, 'cand-d');
    assert.equal(spec.leaseTransitions, 1);
    await c.stop();

    // A holder on this host whose process has exited: no need to wait.
    const child = spawnSync('true');
    assert.equal(child.status, 0);
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().slice(0, 8);
    const deadPid = child.pid!;
    const gone = `${hostname()}_${boot}_${deadPid}_abcdef`;
    assert.equal(holderIsGone(gone), true);
    assert.equal(holderIsGone(leaderIdentity()), false, 'this process is alive');
    assert.equal(holderIsGone(`otherhost_${boot}_${deadPid}_abcdef`), false, 'another host: cannot tell');
    await env.svc.create(leases, 'kube-system', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'dead-here' }, spec: { holderIdentity: gone, leaseDurationSeconds: 3600, renewTime: now } }, write);
    const e = candidate('cand-e', 'dead-here');
    await eventually('taken over from a dead local holder', async () => e.leading, 5_000);
    await e.stop();
  });
});
