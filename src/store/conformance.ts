// The behaviour every Store backend must show, as node:test cases. A backend's
// test file calls storeConformance('sqlite', open) and adds its own tests.
//
// Each case opens a fresh store and works under its own key prefix, so a
// backend may hand out stores that share one server (etcd) as long as
// compaction of one does not break another mid-test. Revisions are never
// assumed to start at 1 or to be contiguous, only to increase.
// `cleanup` must tolerate a store the test already closed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CompactedError,
  InvalidContinueError,
  KeyExistsError,
  NotFoundError,
  RevisionConflictError,
  type Store,
  type StoreEvent,
  type StoreProgress,
} from './store.js';

export type OpenStore = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

/** Longest a test waits for watch events before failing instead of hanging. */
const HANG_GUARD_MS = 20000;

let prefixCounter = 0;
function freshPrefix(): string {
  return `/conformance/${process.pid}-${Date.now().toString(36)}-${prefixCounter++}/`;
}

async function withStore(open: OpenStore, fn: (store: Store, p: string) => Promise<void>): Promise<void> {
  const { store, cleanup } = await open();
  try {
    await fn(store, freshPrefix());
  } finally {
    await cleanup();
  }
}

type Item = StoreEvent | StoreProgress;

function isEvent(item: Item): item is StoreEvent {
  return item.type !== 'PROGRESS';
}

/** "TYPE key@revision", the compact form events are compared in. */
function brief(e: { type: string; key: string; revision: number }): string {
  return `${e.type} ${e.key}@${e.revision}`;
}

/**
 * A watch consumed in the background: events accumulate in `events`;
 * `until(pred)` resolves once an item (already received or still to come)
 * satisfies pred. Stop with `stop()`.
 */
function startWatch(store: Store, prefix: string, from: number, progressIntervalMs?: number) {
  const controller = new AbortController();
  const guard = setTimeout(() => controller.abort(), HANG_GUARD_MS);
  const events: StoreEvent[] = [];
  const progress: StoreProgress[] = [];
  const items: Item[] = [];
  let waiters: { pred: (e: Item) => boolean; resolve: () => void; reject: (e: Error) => void }[] = [];
  let settled: { error?: unknown } | undefined;
  const done = (async () => {
    try {
      for await (const item of store.watch(prefix, from, { signal: controller.signal, progressIntervalMs })) {
        items.push(item);
        if (isEvent(item)) events.push(item);
        else progress.push(item);
        waiters = waiters.filter((w) => (w.pred(item) ? (w.resolve(), false) : true));
      }
      settled = {};
    } catch (error) {
      settled = { error };
    } finally {
      clearTimeout(guard);
      const why = settled?.error ?? new Error(`watch of ${prefix} ended after ${events.length} events`);
      for (const w of waiters) w.reject(why instanceof Error ? why : new Error(String(why)));
      waiters = [];
    }
  })();
  return {
    events,
    progress,
    until(pred: (e: Item) => boolean): Promise<void> {
      if (items.some(pred)) return Promise.resolve();
      if (settled) return Promise.reject(new Error(`watch of ${prefix} already ended after ${events.length} events`));
      return new Promise((resolve, reject) => waiters.push({ pred, resolve, reject }));
    },
    untilKey(key: string): Promise<void> {
      return this.until((e) => isEvent(e) && e.key === key);
    },
    async stop(): Promise<void> {
      controller.abort();
      await done;
    },
  };
}

/** Everything the first next() of a watch yields or throws. */
async function firstItem(store: Store, prefix: string, from: number): Promise<IteratorResult<Item>> {
  const it = store.watch(prefix, from, { signal: AbortSignal.timeout(HANG_GUARD_MS) })[Symbol.asyncIterator]();
  try {
    return await it.next();
  } finally {
    await it.return?.();
  }
}

export function storeConformance(name: string, open: OpenStore): void {
  describe(`Store conformance: ${name}`, () => {
    describe('create, get, update, delete', () => {
      it('creates and reads back a key', () =>
        withStore(open, async (store, p) => {
          const before = await store.currentRevision();
          const rev = await store.create(`${p}a`, 'one');
          assert.ok(rev > before, `create revision ${rev} should exceed ${before}`);
          assert.deepEqual(await store.get(`${p}a`), { key: `${p}a`, value: 'one', revision: rev, createRevision: rev });
          assert.equal(await store.currentRevision(), rev);
          assert.equal(await store.get(`${p}missing`), null);
        }));

      it('refuses to create an existing key', () =>
        withStore(open, async (store, p) => {
          await store.create(`${p}a`, 'one');
          await assert.rejects(store.create(`${p}a`, 'two'), (err: unknown) => {
            assert.ok(err instanceof KeyExistsError, `expected KeyExistsError, got ${String(err)}`);
            assert.equal(err.key, `${p}a`);
            assert.match(err.message, /conformance/);
            return true;
          });
          assert.equal((await store.get(`${p}a`))?.value, 'one');
        }));

      it('updates by compare-and-swap', () =>
        withStore(open, async (store, p) => {
          const r1 = await store.create(`${p}a`, 'one');
          const r2 = await store.update(`${p}a`, 'two', r1);
          assert.ok(r2 > r1);
          assert.deepEqual(await store.get(`${p}a`), { key: `${p}a`, value: 'two', revision: r2, createRevision: r1 });
          await assert.rejects(store.update(`${p}a`, 'stale', r1), (err: unknown) => {
            assert.ok(err instanceof RevisionConflictError, `expected RevisionConflictError, got ${String(err)}`);
            assert.equal(err.actualRevision, r2);
            assert.equal(err.key, `${p}a`);
            return true;
          });
          assert.equal((await store.get(`${p}a`))?.value, 'two');
          await assert.rejects(store.update(`${p}nope`, 'x', r2), NotFoundError);
        }));

      it('deletes, with and without an expected revision', () =>
        withStore(open, async (store, p) => {
          const ra = await store.create(`${p}a`, 'one');
          const rb = await store.create(`${p}b`, 'one');
          await assert.rejects(store.delete(`${p}a`, ra - 1), (err: unknown) => {
            assert.ok(err instanceof RevisionConflictError);
            assert.equal(err.actualRevision, ra);
            return true;
          });
          assert.ok((await store.get(`${p}a`)) !== null, 'a failed delete must not delete');
          const rd = await store.delete(`${p}a`, ra);
          assert.ok(rd > rb);
          assert.equal(await store.get(`${p}a`), null);
          const rd2 = await store.delete(`${p}b`);
          assert.ok(rd2 > rd);
          await assert.rejects(store.delete(`${p}a`), NotFoundError);
          await assert.rejects(store.delete(`${p}a`, rd), NotFoundError);
        }));

      it('gives a re-created key a new create revision', () =>
        withStore(open, async (store, p) => {
          const r1 = await store.create(`${p}a`, 'one');
          await store.delete(`${p}a`);
          const r3 = await store.create(`${p}a`, 'again');
          assert.deepEqual(await store.get(`${p}a`), { key: `${p}a`, value: 'again', revision: r3, createRevision: r3 });
          assert.ok(r3 > r1);
        }));
    });

    describe('list', () => {
      it('treats prefixes literally (/a/b/ is not /a/bc/)', () =>
        withStore(open, async (store, p) => {
          for (const k of ['a/b', 'a/b/1', 'a/b/2', 'a/bc/1', 'a/b0', 'a/c/1']) await store.create(`${p}${k}`, k);
          const keys = async (prefix: string) => (await store.list(`${p}${prefix}`)).items.map((kv) => kv.key.slice(p.length));
          assert.deepEqual(await keys('a/b/'), ['a/b/1', 'a/b/2']);
          assert.deepEqual(await keys('a/bc/'), ['a/bc/1']);
          assert.deepEqual(await keys('a/b'), ['a/b', 'a/b/1', 'a/b/2', 'a/b0', 'a/bc/1']);
          assert.deepEqual(await keys('a/d/'), []);
        }));

      it('orders items by key and reports the revision', () =>
        withStore(open, async (store, p) => {
          const names = ['m', 'b', 'z', 'a', 'k2', 'k10', 'k1', 'A', '_', '~'];
          let last = 0;
          for (const n of names) last = await store.create(`${p}${n}`, n);
          const result = await store.list(p);
          assert.deepEqual(
            result.items.map((kv) => kv.key),
            names.map((n) => `${p}${n}`).sort(),
          );
          assert.ok(result.revision >= last);
          assert.equal(result.continue, undefined);
          for (const kv of result.items) assert.equal(kv.value, kv.key.slice(p.length));
        }));

      it('pages stay consistent at the first page\'s revision across writes', () =>
        withStore(open, async (store, p) => {
          const keys = Array.from({ length: 25 }, (_, i) => `${p}k${String(i).padStart(2, '0')}`);
          const created = new Map<string, number>();
          for (const k of keys) created.set(k, await store.create(k, `v-${k}`));
          const first = await store.list(p, { limit: 10 });
          assert.equal(first.items.length, 10);
          assert.ok(first.continue, 'first page must have a continue token');
          if (first.remaining !== undefined) assert.equal(first.remaining, 15);
          // Writes that would change the later pages if they were read at the latest revision.
          await store.create(`${p}k12a`, 'new');
          await store.update(keys[15]!, 'changed', created.get(keys[15]!)!);
          await store.delete(keys[20]!);
          await store.delete(keys[24]!);
          const seen = [...first.items];
          let token: string | undefined = first.continue;
          let pages = 1;
          while (token) {
            const page = await store.list(p, { limit: 10, continue: token });
            assert.equal(page.revision, first.revision, 'every page is read at the first page\'s revision');
            seen.push(...page.items);
            token = page.continue;
            pages++;
          }
          assert.equal(pages, 3);
          assert.deepEqual(
            seen.map((kv) => [kv.key, kv.value, kv.revision]),
            keys.map((k) => [k, `v-${k}`, created.get(k)]),
          );
          const latest = await store.list(p);
          assert.equal(latest.items.length, 24);
          assert.ok(latest.revision > first.revision);
        }));

      it('lists as of a past revision', () =>
        withStore(open, async (store, p) => {
          const ra = await store.create(`${p}a`, 'a1');
          const rb = await store.create(`${p}b`, 'b1');
          await store.update(`${p}a`, 'a2', ra);
          await store.delete(`${p}b`, rb);
          await store.create(`${p}c`, 'c1');
          const past = await store.list(p, { revision: rb });
          assert.equal(past.revision, rb);
          assert.deepEqual(
            past.items.map((kv) => [kv.key, kv.value, kv.revision]),
            [[`${p}a`, 'a1', ra], [`${p}b`, 'b1', rb]],
          );
          const older = await store.list(p, { revision: ra });
          assert.deepEqual(older.items.map((kv) => kv.value), ['a1']);
          const pageOne = await store.list(p, { revision: rb, limit: 1 });
          assert.deepEqual(pageOne.items.map((kv) => kv.value), ['a1']);
          const pageTwo = await store.list(p, { continue: pageOne.continue! , limit: 1 });
          assert.deepEqual(pageTwo.items.map((kv) => kv.value), ['b1']);
          assert.equal(pageTwo.continue, undefined);
          const now = await store.list(p);
          assert.deepEqual(now.items.map((kv) => kv.value), ['a2', 'c1']);
          await assert.rejects(store.list(p, { revision: now.revision + 1000 }), 'a future revision is refused');
        }));

      it('rejects bad and foreign continue tokens', () =>
        withStore(open, async (store, p) => {
          for (const k of ['x/1', 'x/2', 'y/1', 'y/2']) await store.create(`${p}${k}`, k);
          const page = await store.list(`${p}x/`, { limit: 1 });
          assert.ok(page.continue);
          await assert.rejects(store.list(`${p}y/`, { continue: page.continue }), InvalidContinueError);
          await assert.rejects(store.list(`${p}x/`, { continue: 'not a token' }), InvalidContinueError);
          await assert.rejects(store.list(`${p}x/`, { continue: 'eyJ2IjoxfQ' }), InvalidContinueError);
        }));
    });

    describe('watch', () => {
      it('replays history from a revision, then follows live writes', () =>
        withStore(open, async (store, p) => {
          const from = await store.currentRevision();
          const r1 = await store.create(`${p}a`, 'a1');
          const r2 = await store.update(`${p}a`, 'a2', r1);
          const r3 = await store.create(`${p}b`, 'b1');
          const w = startWatch(store, p, from);
          try {
            await w.untilKey(`${p}b`);
            const r4 = await store.delete(`${p}a`, r2);
            const r5 = await store.create(`${p}c`, 'c1');
            await w.untilKey(`${p}c`);
            assert.deepEqual(w.events, [
              { type: 'ADDED', key: `${p}a`, value: 'a1', revision: r1, createRevision: r1, prevRevision: 0 },
              { type: 'MODIFIED', key: `${p}a`, value: 'a2', revision: r2, createRevision: r1, prevRevision: r1 },
              { type: 'ADDED', key: `${p}b`, value: 'b1', revision: r3, createRevision: r3, prevRevision: 0 },
              { type: 'DELETED', key: `${p}a`, value: 'a2', revision: r4, createRevision: r1, prevRevision: r2 },
              { type: 'ADDED', key: `${p}c`, value: 'c1', revision: r5, createRevision: r5, prevRevision: 0 },
            ]);
          } finally {
            await w.stop();
          }
        }));

      it('starts strictly after fromRevision and only under the prefix', () =>
        withStore(open, async (store, p) => {
          const r1 = await store.create(`${p}a/1`, 'x');
          const w = startWatch(store, `${p}a/`, r1);
          try {
            await store.create(`${p}ab/1`, 'not mine');
            await store.create(`${p}b/1`, 'not mine');
            const r = await store.create(`${p}a/2`, 'mine');
            await w.untilKey(`${p}a/2`);
            assert.deepEqual(w.events.map(brief), [`ADDED ${p}a/2@${r}`]);
          } finally {
            await w.stop();
          }
        }));

      it('DELETED carries the last value', () =>
        withStore(open, async (store, p) => {
          const r1 = await store.create(`${p}a`, 'first');
          const r2 = await store.update(`${p}a`, 'last', r1);
          const w = startWatch(store, p, r2);
          try {
            const r3 = await store.delete(`${p}a`);
            await w.untilKey(`${p}a`);
            assert.deepEqual(w.events, [
              { type: 'DELETED', key: `${p}a`, value: 'last', revision: r3, createRevision: r1, prevRevision: r2 },
            ]);
          } finally {
            await w.stop();
          }
        }));

      it('loses and duplicates nothing under 1000 concurrent writes and several watchers', () =>
        withStore(open, async (store, p) => {
          const start = await store.currentRevision();
          const all = startWatch(store, p, start);
          const onlyX = startWatch(store, `${p}x/`, start);
          let late: ReturnType<typeof startWatch> | undefined;
          const done: { type: string; key: string; revision: number }[] = [];
          const record = (type: string, key: string) => (revision: number) => {
            done.push({ type, key, revision });
            return revision;
          };
          try {
            // 500 creates, then 300 updates and 200 deletes, in waves of
            // concurrent requests; the late watcher starts from the
            // beginning while the writes are in full flight.
            const keys = Array.from({ length: 500 }, (_, i) => `${p}${i % 2 ? 'x' : 'y'}/${i}`);
            const revs = new Map<string, number>();
            const ops: (() => Promise<unknown>)[] = [
              ...keys.map((k) => () => store.create(k, `c-${k}`).then(record('ADDED', k)).then((r) => revs.set(k, r))),
              ...keys.slice(0, 300).map((k) => () => store.update(k, `u-${k}`, revs.get(k)!).then(record('MODIFIED', k))),
              ...keys.slice(300).map((k) => () => store.delete(k, revs.get(k)!).then(record('DELETED', k))),
            ];
            for (let wave = 0; wave < 10; wave++) {
              const inFlight = ops.slice(wave * 100, wave * 100 + 100).map((op) => op());
              if (wave === 6) late = startWatch(store, p, start);
              await Promise.all(inFlight);
            }
            // Markers after the last write: each watcher must show exactly
            // the expected events before its marker (nothing lost, nothing twice).
            const end = `${p}zz-end`;
            const endRev = await store.create(end, 'end');
            const endX = `${p}x/zz-end`;
            const endXRev = await store.create(endX, 'end');
            await Promise.all([all.untilKey(endX), onlyX.untilKey(endX), late!.untilKey(endX)]);
            done.sort((a, b) => a.revision - b.revision);
            assert.equal(new Set(done.map((d) => d.revision)).size, 1000, 'every write has its own revision');
            const expected = [...done.map(brief), `ADDED ${end}@${endRev}`, `ADDED ${endX}@${endXRev}`];
            assert.deepEqual(all.events.map(brief), expected);
            assert.deepEqual(late!.events.map(brief), expected);
            assert.deepEqual(
              onlyX.events.map(brief),
              expected.filter((e) => e.includes(` ${p}x/`)),
            );
          } finally {
            await Promise.all([all.stop(), onlyX.stop(), late?.stop()]);
          }
        }));

      it('a consumer that reads nothing for a while still gets every event in order', () =>
        withStore(open, async (store, p) => {
          const start = await store.currentRevision();
          const it = store.watch(p, start, { signal: AbortSignal.timeout(HANG_GUARD_MS) })[Symbol.asyncIterator]();
          try {
            const first = it.next(); // the watch is running before the writes
            const expected: string[] = [];
            for (let i = 0; i < 3000; i++) {
              const key = `${p}k${i}`;
              expected.push(`ADDED ${key}@${await store.create(key, String(i))}`);
            }
            const got: string[] = [];
            let next = await first;
            for (;;) {
              assert.ok(!next.done, `watch ended after ${got.length} events`);
              if (isEvent(next.value)) got.push(brief(next.value));
              if (got.length === expected.length) break;
              next = await it.next();
            }
            assert.deepEqual(got, expected);
          } finally {
            await it.return?.();
          }
        }));

      it('reports progress when idle', () =>
        withStore(open, async (store, p) => {
          const rev = await store.create(`${p}a`, 'x');
          const w = startWatch(store, p, rev, 50);
          try {
            await w.until((e) => e.type === 'PROGRESS');
            assert.ok(w.progress[0]!.revision >= rev, `progress revision ${w.progress[0]!.revision} < ${rev}`);
            const r2 = await store.create(`${p}b`, 'y');
            await w.until((e) => e.type === 'PROGRESS' && e.revision >= r2);
            assert.deepEqual(w.events.map(brief), [`ADDED ${p}b@${r2}`]);
          } finally {
            await w.stop();
          }
        }));

      it('ends cleanly on abort, on break, and on close', () =>
        withStore(open, async (store, p) => {
          const rev = await store.currentRevision();
          // Abort while next() is waiting.
          const controller = new AbortController();
          const it = store.watch(p, rev, { signal: controller.signal })[Symbol.asyncIterator]();
          const pending = it.next();
          setTimeout(() => controller.abort(), 20);
          assert.deepEqual(await pending, { done: true, value: undefined });
          assert.equal((await it.next()).done, true);
          // Already aborted before the first next().
          const gone = store.watch(p, rev, { signal: AbortSignal.abort() })[Symbol.asyncIterator]();
          assert.equal((await gone.next()).done, true);
          // Breaking out of for-await.
          await store.create(`${p}a`, '1');
          await store.create(`${p}b`, '2');
          let seen = 0;
          for await (const item of store.watch(p, rev)) {
            if (isEvent(item)) seen++;
            break;
          }
          assert.equal(seen, 1);
          // close() ends a waiting watch.
          const open2 = store.watch(p, await store.currentRevision())[Symbol.asyncIterator]();
          const waiting = open2.next();
          await new Promise((r) => setTimeout(r, 20));
          await store.close();
          assert.equal((await waiting).done, true);
        }));
    });

    describe('compaction', () => {
      it('makes old revisions fail with CompactedError for watch, list and continue tokens', () =>
        withStore(open, async (store, p) => {
          const r1 = await store.create(`${p}a`, 'a1');
          await store.create(`${p}b`, 'b1');
          await store.create(`${p}c`, 'c1');
          const firstPage = await store.list(p, { limit: 1 });
          const r4 = await store.update(`${p}a`, 'a2', r1);
          await store.delete(`${p}b`);
          const r6 = await store.create(`${p}d`, 'd1');
          await store.compact(r4);

          await assert.rejects(firstItem(store, p, r1), CompactedError);
          await assert.rejects(store.list(p, { revision: r1 }), CompactedError);
          await assert.rejects(store.list(p, { continue: firstPage.continue!, limit: 1 }), CompactedError);

          // At and after the compacted revision, history is intact.
          const atCompaction = await store.list(p, { revision: r4 });
          assert.deepEqual(atCompaction.items.map((kv) => kv.value), ['a2', 'b1', 'c1']);
          const w = startWatch(store, p, r4);
          try {
            await w.untilKey(`${p}d`);
            assert.deepEqual(w.events.map((e) => `${e.type} ${e.value}`), ['DELETED b1', 'ADDED d1']);
          } finally {
            await w.stop();
          }
          assert.deepEqual((await store.list(p)).items.map((kv) => kv.value), ['a2', 'c1', 'd1']);
          assert.equal((await store.get(`${p}c`))?.value, 'c1');
          assert.equal(await store.currentRevision(), r6);
        }));

      it('keeps live keys and the revision counter when compacting everything', () =>
        withStore(open, async (store, p) => {
          const ra = await store.create(`${p}a`, 'a');
          await store.create(`${p}gone`, 'x');
          const head = await store.delete(`${p}gone`); // the newest change is a deletion
          await store.compact(head);
          await store.compact(head); // again: nothing to do, no error
          assert.deepEqual(await store.get(`${p}a`), { key: `${p}a`, value: 'a', revision: ra, createRevision: ra });
          assert.deepEqual((await store.list(p, { revision: head })).items.map((kv) => kv.key), [`${p}a`]);
          const next = await store.create(`${p}b`, 'b');
          assert.ok(next > head, `revision went back after compaction: ${next} <= ${head}`);
          const r = await store.update(`${p}a`, 'a2', ra);
          assert.ok(r > next);
          await assert.rejects(firstItem(store, p, head - 1), CompactedError);
        }));
    });
  });
}
