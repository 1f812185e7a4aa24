// End-to-end: history compaction (`lodge up --compact-interval 1`) turns old
// resourceVersions into 410 Gone — for watches (an ERROR event), continue
// tokens and exact lists — while live watches keep working.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api, openWatch, requestFailures, shutdown, startLodge, waitFor, type ApiResult, type Lodge, type WatchStream } from './harness.js';
import { apiCaller } from './api-caller.js';

let lodge: Lodge | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'lodge-e2e-compaction-'));
const streams: WatchStream[] = [];
const ns = 'history';
const cms = `/api/v1/namespaces/${ns}/configmaps`;

const { L, call, ok } = apiCaller(() => lodge);



async function watch(path: string): Promise<WatchStream> {
  const w = await openWatch(L(), path);
  streams.push(w);
  return w;
}

const cm = (name: string, labels: Record<string, string> = {}): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, labels },
  data: { v: name },
});

/** Has the history up to `rv` been compacted away? */
async function compactedPast(rv: string): Promise<boolean> {
  const r = await call('GET', `${cms}?resourceVersion=${rv}&resourceVersionMatch=Exact`);
  if (r.status === 200) return false;
  assert.equal(r.status, 410, r.text);
  return true;
}

let oldRv = '';
let oldContinue = '';
let live: WatchStream | undefined;

before(async () => {
  lodge = await startLodge({ dataDir, args: ['--no-agent', '--compact-interval', '1'] });
  await ok('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  for (let i = 0; i < 6; i++) await ok('POST', cms, cm(`old-${i}`, { app: 'web' }));
  const page = await ok('GET', `${cms}?limit=2`);
  oldRv = page.metadata.resourceVersion;
  oldContinue = page.metadata.continue;
  assert.ok(oldContinue, 'a first page has a continue token');
  // A watch that is open across compactions must keep working.
  live = await watch(`${cms}?watch=1&resourceVersion=${oldRv}`);
  assert.equal(live.status, 200);
  // Write enough history, then wait for two compaction rounds to pass it.
  for (let i = 0; i < 20; i++) await ok('PATCH', `${cms}/old-${i % 6}`, { data: { v: `w${i}` } }, 'application/merge-patch+json');
  await waitFor(`history before ${oldRv} to be compacted`, () => compactedPast(oldRv), 30_000, 250);
});

after(async () => {
  for (const s of streams) s.close();
  await shutdown(lodge, dataDir);
});

describe('after compaction', () => {
  it('a watch from an old resourceVersion gets an ERROR event with code 410', async () => {
    const w = await watch(`${cms}?watch=1&resourceVersion=${oldRv}`);
    assert.equal(w.status, 200);
    const events = await w.until((ev) => ev.some((e) => e.type === 'ERROR'));
    const err = events.find((e) => e.type === 'ERROR')!;
    assert.equal(err.object.kind, 'Status');
    assert.equal(err.object.code, 410);
    assert.equal(err.object.status, 'Failure');
    assert.ok(['Expired', 'Gone'].includes(err.object.reason), err.object.reason);
    assert.deepEqual(
      events.filter((e) => e.type !== 'ERROR'),
      [],
      'no object events before the error',
    );
    await w.ended;
  });

  it('a label-selector watch from an old resourceVersion gets 410 too', async () => {
    const w = await watch(`${cms}?watch=1&labelSelector=app%3Dweb&resourceVersion=${oldRv}`);
    const events = await w.until((ev) => ev.some((e) => e.type === 'ERROR'));
    assert.equal(events.find((e) => e.type === 'ERROR')!.object.code, 410);
  });

  it('a list with an old continue token gets 410', async () => {
    const r = await call('GET', `${cms}?limit=2&continue=${encodeURIComponent(oldContinue)}`);
    assert.equal(r.status, 410, r.text);
    const s = r.json();
    assert.equal(s.kind, 'Status');
    assert.equal(s.code, 410);
    assert.ok(['Expired', 'Gone'].includes(s.reason), s.reason);
  });

  it('a fresh list and a watch from its resourceVersion work', async () => {
    const list = await ok('GET', cms);
    assert.equal(list.items.length, 6);
    const w = await watch(`${cms}?watch=1&resourceVersion=${list.metadata.resourceVersion}`);
    await ok('POST', cms, cm('fresh'));
    const events = await w.until((ev) => ev.length >= 1);
    assert.deepEqual(
      events.map((e) => [e.type, e.object.metadata.name]),
      [['ADDED', 'fresh']],
    );
    // Pagination from the new state is consistent again.
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await ok('GET', `${cms}?limit=3${token ? `&continue=${encodeURIComponent(token)}` : ''}`);
      seen.push(...page.items.map((i: any) => i.metadata.name));
      token = page.metadata.continue;
    } while (token);
    assert.equal(seen.length, 7);
    assert.equal(new Set(seen).size, 7);
  });

  it('a watch opened before compaction kept receiving every event', async () => {
    assert.ok(live);
    await ok('POST', cms, cm('after-compaction'));
    const events = await live.until((ev) => ev.some((e) => e.object?.metadata?.name === 'after-compaction'));
    const objectEvents = events.filter((e) => e.type !== 'BOOKMARK');
    assert.ok(!objectEvents.some((e) => e.type === 'ERROR'), JSON.stringify(objectEvents.filter((e) => e.type === 'ERROR')));
    // 20 patches, 'fresh', 'after-compaction'.
    assert.equal(objectEvents.filter((e) => e.type === 'MODIFIED').length, 20);
    assert.deepEqual(
      objectEvents.filter((e) => e.type === 'ADDED').map((e) => e.object.metadata.name),
      ['fresh', 'after-compaction'],
    );
    const rvs = objectEvents.map((e) => Number(e.object.metadata.resourceVersion));
    assert.ok(rvs.every((x, i) => i === 0 || x > rvs[i - 1]), JSON.stringify(rvs));
  });

  it('no request answered 500 (no "request failed" in the log, no 500 ERROR event in a watch)', () => {
    assert.deepEqual(requestFailures(L()), []);
    const internal = streams.flatMap((s) => s.events).filter((e) => e.type === 'ERROR' && e.object?.code === 500);
    assert.deepEqual(internal, []);
  });
});
