// End-to-end: watch over raw HTTPS (newline-delimited JSON) against a real
// `lodge up` — replay from a resourceVersion, initial ADDED events, selector
// transitions, bookmarks and Table events.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api, openWatch, requestFailures, shutdown, startLodge, NO_SCHEDULER, type ApiResult, type Lodge, type WatchEvent, type WatchStream } from './harness.js';
import { apiCaller } from './api-caller.js';

let lodge: Lodge | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'lodge-e2e-watch-'));
const streams: WatchStream[] = [];

const { L, call, ok } = apiCaller(() => lodge);



const merge = (path: string, patch: unknown): Promise<any> => ok('PATCH', path, patch, 'application/merge-patch+json');

async function watch(path: string, accept?: string): Promise<WatchStream> {
  const w = await openWatch(L(), path, { accept });
  streams.push(w);
  assert.equal(w.status, 200, `watch ${path} answered ${w.status}`);
  return w;
}

async function createNs(name: string): Promise<void> {
  await ok('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

const cm = (name: string, labels?: Record<string, string>): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(labels ? { labels } : {}) },
  data: { v: name },
});

/** [type, name] of the object events (bookmarks dropped). */
const summary = (events: WatchEvent[]): Array<[string, string]> =>
  events.filter((e) => e.type !== 'BOOKMARK').map((e) => [e.type, e.object?.metadata?.name]);

const rvs = (events: WatchEvent[]): number[] => events.filter((e) => e.type !== 'BOOKMARK' && e.type !== 'ERROR').map((e) => Number(e.object.metadata.resourceVersion));

function increasing(xs: number[]): boolean {
  return xs.every((x, i) => i === 0 || x > xs[i - 1]);
}

before(async () => {
  lodge = await startLodge({ dataDir, args: ['--no-agent', ...NO_SCHEDULER] });
});

after(async () => {
  for (const s of streams) s.close();
  await shutdown(lodge, dataDir);
});

describe('watch', () => {
  it('from a resourceVersion replays exactly the later events, in order, then continues live', async () => {
    const ns = 'w-replay';
    const cms = `/api/v1/namespaces/${ns}/configmaps`;
    await createNs(ns);
    const a = await ok('POST', cms, cm('a'));
    const rv0 = a.metadata.resourceVersion;
    await ok('POST', cms, cm('b'));
    await merge(`${cms}/a`, { data: { v: 'a2' } });
    await ok('DELETE', `${cms}/b`);
    await ok('POST', cms, cm('c'));
    // Noise in another namespace must not show up.
    await ok('POST', '/api/v1/namespaces/default/configmaps', cm('elsewhere'));
    const w = await watch(`${cms}?watch=1&resourceVersion=${rv0}`);
    await w.until((ev) => ev.length >= 4);
    await ok('POST', cms, cm('d'));
    await w.until((ev) => summary(ev).some(([t, n]) => t === 'ADDED' && n === 'd'));
    assert.deepEqual(summary(w.events), [
      ['ADDED', 'b'],
      ['MODIFIED', 'a'],
      ['DELETED', 'b'],
      ['ADDED', 'c'],
      ['ADDED', 'd'],
    ]);
    assert.ok(increasing(rvs(w.events)), JSON.stringify(rvs(w.events)));
    assert.ok(rvs(w.events)[0] > Number(rv0));
    assert.equal(w.events[1].object.data.v, 'a2');
    for (const e of w.events) {
      assert.equal(e.object.kind, 'ConfigMap');
      assert.equal(e.object.apiVersion, 'v1');
    }
  });

  it('resourceVersion=0 and unset send ADDED for existing objects first', async () => {
    const ns = 'w-initial';
    const cms = `/api/v1/namespaces/${ns}/configmaps`;
    await createNs(ns);
    for (const n of ['x1', 'x2', 'x3']) await ok('POST', cms, cm(n));
    const list = await ok('GET', cms);
    for (const q of ['?watch=1&resourceVersion=0', '?watch=true']) {
      const w = await watch(`${cms}${q}`);
      await w.until((ev) => ev.length >= 3);
      assert.deepEqual(summary(w.events).slice(0, 3), [
        ['ADDED', 'x1'],
        ['ADDED', 'x2'],
        ['ADDED', 'x3'],
      ]);
      for (const e of w.events.slice(0, 3)) {
        const listed = list.items.find((i: any) => i.metadata.name === e.object.metadata.name);
        assert.equal(e.object.metadata.resourceVersion, listed.metadata.resourceVersion);
      }
      w.close();
    }
    // Live events follow the initial ones.
    const w = await watch(`${cms}?watch=1`);
    await w.until((ev) => ev.length >= 3);
    await merge(`${cms}/x2`, { data: { v: 'new' } });
    await ok('DELETE', `${cms}/x3`);
    await w.until((ev) => ev.length >= 5);
    assert.deepEqual(summary(w.events), [
      ['ADDED', 'x1'],
      ['ADDED', 'x2'],
      ['ADDED', 'x3'],
      ['MODIFIED', 'x2'],
      ['DELETED', 'x3'],
    ]);
  });

  it('the legacy /watch/ path and a watch on one object by name', async () => {
    const ns = 'w-legacy';
    const cms = `/api/v1/namespaces/${ns}/configmaps`;
    await createNs(ns);
    await ok('POST', cms, cm('one'));
    await ok('POST', cms, cm('two'));
    const legacy = await watch(`/api/v1/watch/namespaces/${ns}/configmaps`);
    const single = await watch(`${cms}?watch=1&fieldSelector=metadata.name%3Dtwo`);
    await legacy.until((ev) => ev.length >= 2);
    await single.until((ev) => ev.length >= 1);
    await merge(`${cms}/one`, { data: { v: '1' } });
    await merge(`${cms}/two`, { data: { v: '2' } });
    await single.until((ev) => ev.length >= 2);
    await legacy.until((ev) => ev.length >= 4);
    assert.deepEqual(summary(single.events), [
      ['ADDED', 'two'],
      ['MODIFIED', 'two'],
    ]);
    assert.deepEqual(summary(legacy.events), [
      ['ADDED', 'one'],
      ['ADDED', 'two'],
      ['MODIFIED', 'one'],
      ['MODIFIED', 'two'],
    ]);
  });

  it('a label-selector watch turns "stops matching" into DELETED and "starts matching" into ADDED', async () => {
    const ns = 'w-labels';
    const cms = `/api/v1/namespaces/${ns}/configmaps`;
    await createNs(ns);
    await ok('POST', cms, cm('m1', { app: 'web' }));
    await ok('POST', cms, cm('m2', { app: 'db' }));
    const start = await ok('GET', cms);
    const w = await watch(`${cms}?watch=1&labelSelector=app%3Dweb&resourceVersion=${start.metadata.resourceVersion}`);
    await merge(`${cms}/m1`, { data: { v: 'changed' } }); // MODIFIED (still matches)
    await merge(`${cms}/m1`, { metadata: { labels: { app: 'other' } } }); // DELETED (stops matching)
    await merge(`${cms}/m2`, { data: { v: 'db-changed' } }); // nothing: never matched
    await merge(`${cms}/m2`, { metadata: { labels: { app: 'web' } } }); // ADDED (starts matching)
    await merge(`${cms}/m1`, { data: { v: 'unseen' } }); // nothing: no longer matches
    await ok('DELETE', `${cms}/m2`); // DELETED
    await ok('POST', cms, cm('m3', { app: 'web' })); // ADDED
    await w.until((ev) => summary(ev).some(([t, n]) => t === 'ADDED' && n === 'm3'));
    assert.deepEqual(summary(w.events), [
      ['MODIFIED', 'm1'],
      ['DELETED', 'm1'],
      ['ADDED', 'm2'],
      ['DELETED', 'm2'],
      ['ADDED', 'm3'],
    ]);
    // The DELETED for "stops matching" carries the object as it now is.
    assert.equal(w.events[1].object.metadata.labels.app, 'other');
    assert.ok(increasing(rvs(w.events)));
  });

  it('timeoutSeconds ends the stream', async () => {
    const w = await watch('/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1');
    await w.ended;
  });

  it('allowWatchBookmarks sends BOOKMARK events with a resourceVersion', async () => {
    const ns = 'w-bookmarks';
    const cms = `/api/v1/namespaces/${ns}/configmaps`;
    await createNs(ns);
    await ok('POST', cms, cm('bm'));
    const list = await ok('GET', cms);
    const w = await watch(`${cms}?watch=1&allowWatchBookmarks=true&timeoutSeconds=25&resourceVersion=${list.metadata.resourceVersion}`);
    await ok('POST', cms, cm('bm2'));
    const events = await w.until((ev) => ev.some((e) => e.type === 'BOOKMARK'), 30_000);
    const bm = events.find((e) => e.type === 'BOOKMARK')!;
    assert.equal(bm.object.kind, 'ConfigMap');
    assert.equal(bm.object.apiVersion, 'v1');
    assert.match(bm.object.metadata.resourceVersion, /^\d+$/);
    assert.ok(Number(bm.object.metadata.resourceVersion) >= Number(list.metadata.resourceVersion));
    assert.deepEqual(summary(events).slice(0, 1), [['ADDED', 'bm2']]);
    w.close();
  });

  it('sendInitialEvents=true ends the initial ADDED events with an initial-events-end bookmark', async () => {
    const ns = 'w-sie';
    const cms = `/api/v1/namespaces/${ns}/configmaps`;
    await createNs(ns);
    await ok('POST', cms, cm('s1'));
    await ok('POST', cms, cm('s2'));
    const w = await watch(`${cms}?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan`);
    const events = await w.until((ev) => ev.some((e) => e.type === 'BOOKMARK'));
    assert.deepEqual(
      events.map((e) => e.type),
      ['ADDED', 'ADDED', 'BOOKMARK'],
    );
    assert.equal(events[2].object.metadata.annotations?.['k8s.io/initial-events-end'], 'true');
  });

  it('Table watch events carry Table objects', async () => {
    const ns = 'w-table';
    await createNs(ns);
    const pods = `/api/v1/namespaces/${ns}/pods`;
    const pod = (name: string): Record<string, unknown> => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    await ok('POST', pods, pod('t1'));
    const w = await watch(`${pods}?watch=1`, 'application/json;as=Table;v=v1;g=meta.k8s.io');
    await w.until((ev) => ev.length >= 1);
    await ok('POST', pods, pod('t2'));
    await ok('DELETE', `${pods}/t1`);
    await w.until((ev) => ev.length >= 3);
    assert.deepEqual(
      w.events.map((e) => e.type),
      ['ADDED', 'ADDED', 'DELETED'],
    );
    for (const e of w.events) {
      assert.equal(e.object.kind, 'Table', JSON.stringify(e.object));
      assert.equal(e.object.apiVersion, 'meta.k8s.io/v1');
      assert.equal(e.object.rows.length, 1);
      const row = e.object.rows[0];
      assert.ok(Array.isArray(row.cells));
      assert.equal(row.object.kind, 'PartialObjectMetadata');
      assert.match(row.object.metadata.resourceVersion, /^\d+$/);
    }
    assert.deepEqual(
      w.events.map((e) => e.object.rows[0].object.metadata.name),
      ['t1', 't2', 't1'],
    );
    assert.deepEqual(
      w.events.map((e) => e.object.rows[0].cells[0]),
      ['t1', 't2', 't1'],
    );
    const cols = w.events[0].object.columnDefinitions;
    assert.ok(Array.isArray(cols) && cols.length > 0);
    assert.equal(cols[0].name, 'Name');
  });

  it('over HTTP/2: a watch and writes share one connection; closing the watch leaves the session usable', async () => {
    const http2 = await import('node:http2');
    const ns = 'w-h2';
    const cms = `/api/v1/namespaces/${ns}/configmaps`;
    await createNs(ns);
    const session = http2.connect(L().url, { ca: L().caPem });
    try {
      const auth = { authorization: `Bearer ${L().token}` };
      const send = (method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> =>
        new Promise((res, rej) => {
          const s = session.request({ ':method': method, ':path': path, ...auth, ...(body ? { 'content-type': 'application/json' } : {}) });
          let status = 0;
          let text = '';
          s.on('response', (h) => (status = Number(h[':status'])));
          s.setEncoding('utf8');
          s.on('data', (d: string) => (text += d));
          s.on('end', () => res({ status, text }));
          s.on('error', rej);
          s.end(body ? JSON.stringify(body) : undefined);
        });
      const w = session.request({ ':method': 'GET', ':path': `${cms}?watch=1`, ...auth });
      w.setEncoding('utf8');
      let buf = '';
      const events: WatchEvent[] = [];
      w.on('data', (d: string) => {
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
      });
      const status = await new Promise<number>((res) => w.on('response', (h) => res(Number(h[':status']))));
      assert.equal(status, 200);
      for (const n of ['h1', 'h2', 'h3']) assert.equal((await send('POST', cms, cm(n))).status, 201);
      const deadline = Date.now() + 15_000;
      while (events.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(summary(events), [
        ['ADDED', 'h1'],
        ['ADDED', 'h2'],
        ['ADDED', 'h3'],
      ]);
      w.close();
      const list = await send('GET', cms);
      assert.equal(list.status, 200);
      assert.equal(JSON.parse(list.text).items.length, 3);
    } finally {
      session.close();
    }
  });

  it('a watch across all namespaces sees every namespace', async () => {
    const start = await ok('GET', '/api/v1/configmaps');
    const w = await watch(`/api/v1/configmaps?watch=1&resourceVersion=${start.metadata.resourceVersion}`);
    await createNs('w-all-a');
    await createNs('w-all-b');
    await ok('POST', '/api/v1/namespaces/w-all-a/configmaps', cm('in-a'));
    await ok('POST', '/api/v1/namespaces/w-all-b/configmaps', cm('in-b'));
    await w.until((ev) => ev.length >= 2);
    assert.deepEqual(
      w.events.map((e) => [e.type, e.object.metadata.namespace, e.object.metadata.name]),
      [
        ['ADDED', 'w-all-a', 'in-a'],
        ['ADDED', 'w-all-b', 'in-b'],
      ],
    );
  });

  it('no request answered 500 (no "request failed" in the log, no 500 ERROR event in a watch)', () => {
    assert.deepEqual(requestFailures(L()), []);
    const internal = streams.flatMap((s) => s.events).filter((e) => e.type === 'ERROR' && e.object?.code === 500);
    assert.deepEqual(internal, []);
  });
});
