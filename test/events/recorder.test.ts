// The event recorder and the event TTL controller against the real resource
// service on SQLite: what an Event looks like, aggregation of repeats, the
// spam filter, recreation after a delete, and expiry.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CoreEvent } from '../../src/apis/core/v1/types.js';
import type { KubeObject, ResourceType } from '../../src/apis/types.js';
import { rfc3339 } from '../../src/api/resources/clock.js';
import { runEventTtlController } from '../../src/controllers/event-ttl-controller.js';
import { controllerWrite } from '../../src/controllers/runtime/informer-factory.js';
import { serviceEventRecorder } from '../../src/events/index.js';
import type { Logger } from '../../src/util/log.js';
import { ControllerEnv, eventually } from '../controllers/controller-env.js';

const quiet: Logger = { info: () => {}, warn: () => {}, error: (m, f) => process.stderr.write(`${JSON.stringify({ m, ...f })}\n`), child: () => quiet };

let env: ControllerEnv;
let events: ResourceType;
const abort = new AbortController();
before(async () => {
  env = await ControllerEnv.open('lodge-events-', quiet);
  events = env.svc.registry.resource('', 'v1', 'events')!;
});
after(async () => {
  abort.abort();
  await env.close();
});

/** A Pod as a recorder sees one (the recorder only reads its reference). */
const pod = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: '7' } });

async function eventsAbout(uid: string): Promise<CoreEvent[]> {
  const page = await env.svc.list(events, undefined, { match: (o) => (o as CoreEvent).involvedObject?.uid === uid });
  return page.items.map((i) => i.obj as CoreEvent);
}

test('an event becomes an Event with the reference, source and counts client-go writes', async () => {
  const rec = serviceEventRecorder(env.svc, { component: 'test-controller', host: 'node-a', log: quiet, signal: abort.signal });
  rec.event(pod('web-1'), 'Normal', 'Started', 'Started container web', { fieldPath: 'spec.containers{web}' });
  await rec.flush();
  const [e] = await eventsAbout('uid-web-1');
  assert.match(String(e.metadata.name), /^web-1\.[0-9a-f]{16}$/);
  assert.equal(e.metadata.namespace, 'default');
  assert.deepEqual(e.involvedObject, { kind: 'Pod', namespace: 'default', name: 'web-1', uid: 'uid-web-1', apiVersion: 'v1', resourceVersion: '7', fieldPath: 'spec.containers{web}' });
  assert.deepEqual(e.source, { component: 'test-controller', host: 'node-a' });
  assert.equal(e.reportingComponent, 'test-controller');
  assert.equal(e.reportingInstance, 'node-a');
  assert.equal(e.type, 'Normal');
  assert.equal(e.reason, 'Started');
  assert.equal(e.message, 'Started container web');
  assert.equal(e.count, 1);
  assert.ok(e.firstTimestamp && e.firstTimestamp === e.lastTimestamp);
});

test('a cluster-scoped object gets its Events in the default namespace', async () => {
  const rec = serviceEventRecorder(env.svc, { component: 'node-controller', log: quiet, signal: abort.signal });
  rec.event({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', uid: 'uid-n1' } }, 'Normal', 'NodeNotReady', 'Node n1 status is now: NodeNotReady');
  await rec.flush();
  const [e] = await eventsAbout('uid-n1');
  assert.equal(e.metadata.namespace, 'default');
  assert.equal(e.involvedObject?.namespace, undefined);
});

test('a repeat within the window bumps count and lastTimestamp of the same Event; after a delete, a new one is made', async () => {
  let now = Date.parse('2030-01-01T00:00:00Z');
  const rec = serviceEventRecorder(env.svc, { component: 'kubelet', host: 'n', log: quiet, signal: abort.signal, now: () => now });
  rec.event(pod('crash'), 'Warning', 'BackOff', 'Back-off restarting failed container');
  await rec.flush();
  now += 30_000;
  rec.event(pod('crash'), 'Warning', 'BackOff', 'Back-off restarting failed container');
  rec.event(pod('crash'), 'Warning', 'BackOff', 'Back-off restarting failed container');
  await rec.flush();
  const [e, ...rest] = await eventsAbout('uid-crash');
  assert.equal(rest.length, 0);
  assert.equal(e.count, 3);
  assert.equal(e.firstTimestamp, '2030-01-01T00:00:00Z');
  assert.equal(e.lastTimestamp, '2030-01-01T00:00:30Z');

  await env.svc.delete(events, 'default', String(e.metadata.name), {});
  now += 1000;
  rec.event(pod('crash'), 'Warning', 'BackOff', 'Back-off restarting failed container');
  await rec.flush();
  const again = await eventsAbout('uid-crash');
  assert.equal(again.length, 1);
  assert.notEqual(again[0].metadata.name, e.metadata.name);
  assert.equal(again[0].count, 4);

  // Past the window, the same occurrence starts a new Event.
  now += 11 * 60_000;
  rec.event(pod('crash'), 'Warning', 'BackOff', 'Back-off restarting failed container');
  await rec.flush();
  assert.equal((await eventsAbout('uid-crash')).length, 2);
});

test('the spam filter lets a burst of 25 through per object, then drops', async () => {
  const rec = serviceEventRecorder(env.svc, { component: 'storm', log: quiet, signal: abort.signal });
  for (let i = 0; i < 100; i++) rec.event(pod('noisy'), 'Normal', 'Step', `step ${i}`);
  rec.event(pod('quiet'), 'Normal', 'Step', 'another object has its own bucket');
  await rec.flush();
  assert.equal((await eventsAbout('uid-noisy')).length, 25);
  assert.equal((await eventsAbout('uid-quiet')).length, 1);
});

test('the TTL controller deletes Events last seen longer ago than the TTL and keeps the rest', async () => {
  const create = (name: string, last: string): Promise<unknown> =>
    env.svc.create(events, 'default', { apiVersion: 'v1', kind: 'Event', metadata: { name }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'default', uid: 'uid-ttl' }, reason: 'R', message: 'm', type: 'Normal', count: 1, firstTimestamp: last, lastTimestamp: last }, controllerWrite('test'));
  await create('old.1', rfc3339(Date.now() - 2 * 3600_000));
  await create('new.1', rfc3339(Date.now() - 60_000));
  const running = env.start((ctx) => runEventTtlController(ctx, { ttlMs: 3600_000, intervalMs: 50 }));
  try {
    await eventually('old event gone', async () => {
      const names = (await eventsAbout('uid-ttl')).map((e) => e.metadata.name);
      return !names.includes('old.1') && names.includes('new.1');
    });
  } finally {
    await running.stop();
  }
});

test('a full queue drops what does not fit instead of growing', async () => {
  const rec = serviceEventRecorder(env.svc, { component: 'flood', log: quiet, signal: abort.signal, maxPending: 10, workers: 2 });
  for (let i = 0; i < 50; i++) rec.event(pod(`flood-${i}`), 'Normal', 'Scheduled', 'assigned');
  await rec.flush();
  const page = await env.svc.list(events, undefined, { match: (o) => (o as CoreEvent).source?.component === 'flood' });
  // The workers take the first two at once, ten wait: the rest are dropped.
  assert.ok(page.items.length <= 12 && page.items.length >= 10, `${page.items.length} written`);
});
