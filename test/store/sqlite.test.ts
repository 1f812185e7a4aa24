// The SQLite store: the shared conformance suite, plus what only a file-backed
// store can promise — several connections on one file, and durability of every
// acknowledged write when the writing process is killed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { storeConformance } from '../../src/store/conformance.js';
import { prefixRange } from '../../src/store/sqlite/keys.js';
import { SqliteStore, type SqliteStoreOptions } from '../../src/store/sqlite/sqlite-store.js';
import type { Store, StoreEvent, StoreProgress } from '../../src/store/store.js';

let root = '';
let dirs = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'lodge-sqlite-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function freshFile(): Promise<{ file: string; remove: () => Promise<void> }> {
  const dir = join(root, String(dirs++));
  await rm(dir, { recursive: true, force: true });
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir);
  return { file: join(dir, 'lodge.db'), remove: () => rm(dir, { recursive: true, force: true }) };
}

storeConformance('sqlite', async () => {
  const { file, remove } = await freshFile();
  const store = SqliteStore.open(file);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await remove();
    },
  };
});

/** Opens stores on one fresh file and closes them all at the end, pass or fail. */
async function withFile(fn: (open: (options?: SqliteStoreOptions) => SqliteStore, file: string) => Promise<void>) {
  const { file, remove } = await freshFile();
  const stores: SqliteStore[] = [];
  try {
    await fn((options) => {
      const s = SqliteStore.open(file, options);
      stores.push(s);
      return s;
    }, file);
  } finally {
    for (const s of stores) await s.close();
    await remove();
  }
}

function isEvent(item: StoreEvent | StoreProgress): item is StoreEvent {
  return item.type !== 'PROGRESS';
}

/** The next `n` events of a watch (progress skipped). */
async function take(it: AsyncIterator<StoreEvent | StoreProgress>, n: number): Promise<StoreEvent[]> {
  const out: StoreEvent[] = [];
  while (out.length < n) {
    const next = await it.next();
    assert.ok(!next.done, `watch ended after ${out.length} of ${n} events`);
    if (isEvent(next.value)) out.push(next.value);
  }
  return out;
}

function watchIterator(store: Store, prefix: string, from: number) {
  return store.watch(prefix, from, { signal: AbortSignal.timeout(20000) })[Symbol.asyncIterator]();
}

describe('SqliteStore', () => {
  it('persists data and the revision counter across reopen', () =>
    withFile(async (open) => {
      const a = open();
      const r1 = await a.create('/k/a', 'one');
      const r2 = await a.update('/k/a', 'two', r1);
      await a.close();
      const b = open();
      assert.deepEqual(await b.get('/k/a'), { key: '/k/a', value: 'two', revision: r2, createRevision: r1 });
      assert.equal(await b.currentRevision(), r2);
      assert.ok((await b.create('/k/b', 'x')) > r2);
      await assert.rejects(b.get('/k/a').then(() => a.get('/k/a')), /closed/);
    }));

  it('shares one file between two stores: one revision counter, and watches see the other\'s writes', () =>
    withFile(async (open) => {
      const a = open();
      const b = open();
      const start = await a.currentRevision();
      const it = watchIterator(a, '/shared/', start);
      try {
        const first = it.next(); // watching before the other store writes
        const revs: number[] = [];
        for (let i = 0; i < 20; i++) {
          revs.push(await (i % 2 ? a : b).create(`/shared/${i}`, String(i)));
        }
        assert.deepEqual([...revs].sort((x, y) => x - y), revs, 'revisions increase across both stores');
        assert.equal(new Set(revs).size, revs.length);
        const firstEvent = await first;
        assert.ok(!firstEvent.done && isEvent(firstEvent.value));
        const events = [firstEvent.value, ...(await take(it, 19))];
        assert.deepEqual(events.map((e) => e.revision), revs);
        // A write by b alone (no local commit on a to trigger its pump) arrives through polling.
        const late = await b.create('/shared/late', 'x');
        const [e] = await take(it, 1);
        assert.equal(e!.revision, late);
        assert.equal((await a.get('/shared/late'))?.value, 'x');
      } finally {
        await it.return?.();
      }
    }));

  it('keeps every acknowledged write when the writing process is SIGKILLed', () =>
    withFile(async (open, file) => {
      const storeUrl = new URL('../../src/store/sqlite/sqlite-store.js', import.meta.url).href;
      const child = spawn(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const { SqliteStore } = await import(${JSON.stringify(storeUrl)});
           const store = SqliteStore.open(${JSON.stringify(file)});
           for (let i = 0; ; i++) {
             const rev = await store.create('/durable/' + String(i).padStart(8, '0'), 'value-' + i);
             process.stdout.write(i + ' ' + rev + '\\n');
           }`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      const acknowledged = new Map<number, number>();
      try {
        for await (const line of createInterface({ input: child.stdout })) {
          const [i, rev] = line.split(' ').map(Number);
          acknowledged.set(i!, rev!);
          if (acknowledged.size === 500) child.kill('SIGKILL');
        }
      } finally {
        child.kill('SIGKILL');
      }
      assert.equal(await exited, 'SIGKILL', `child did not die by SIGKILL; stderr: ${stderr}`);
      assert.ok(acknowledged.size >= 500, `child acknowledged only ${acknowledged.size} writes; stderr: ${stderr}`);
      const store = open();
      for (const [i, rev] of acknowledged) {
        const kv = await store.get(`/durable/${String(i).padStart(8, '0')}`);
        assert.deepEqual(kv && [kv.value, kv.revision], [`value-${i}`, rev], `acknowledged write ${i} is missing`);
      }
      const listed = await store.list('/durable/');
      assert.ok(listed.items.length >= acknowledged.size);
    }));

  it('a slow live watcher falls back to the log and still gets everything, then goes live again', () =>
    withFile(async (open) => {
      const store = open({ watchBufferLimit: 10 });
      const start = await store.currentRevision();
      const it = watchIterator(store, '/slow/', start);
      try {
        const first = it.next(); // live before the writes
        const revs: number[] = [];
        for (let i = 0; i < 500; i++) revs.push(await store.create(`/slow/${String(i).padStart(4, '0')}`, String(i)));
        const firstEvent = await first;
        assert.ok(!firstEvent.done && isEvent(firstEvent.value));
        const rest = await take(it, 499);
        assert.deepEqual([firstEvent.value, ...rest].map((e) => e.revision), revs);
        const r = await store.create('/slow/after', 'x');
        assert.deepEqual((await take(it, 1)).map((e) => e.revision), [r]);
      } finally {
        await it.return?.();
      }
    }));

  it('compaction leaves one log row per live key and none for deleted keys', () =>
    withFile(async (open, file) => {
      const store = open();
      let rev = await store.create('/c/a', '0');
      for (let i = 1; i < 50; i++) rev = await store.update('/c/a', String(i), rev);
      const rb = await store.create('/c/b', 'b');
      await store.delete('/c/b', rb);
      const head = await store.create('/c/z', 'z');
      await store.compact(head);
      const db = new Database(file, { readonly: true });
      try {
        const rows = db.prepare('SELECT key, value FROM log ORDER BY revision').all();
        assert.deepEqual(rows, [
          { key: '/c/a', value: '49' },
          { key: '/c/z', value: 'z' },
        ]);
      } finally {
        db.close();
      }
    }));

  it('handles prefixes whose last character has no simple successor', () =>
    withFile(async (open) => {
      const store = open();
      const keys = ['/u/\uffff/1', '/u/\uffff\u{10000}', '/u/\u{10ffff}', '/u/\u{10ffff}\u{10ffff}x', '/u/\ud7ff', '/u/\ue000'];
      for (const k of keys) await store.create(k, k);
      const list = async (prefix: string) => (await store.list(prefix)).items.map((kv) => kv.key);
      assert.deepEqual(await list('/u/\uffff'), ['/u/\uffff/1', '/u/\uffff\u{10000}']);
      assert.deepEqual(await list('/u/\u{10ffff}'), ['/u/\u{10ffff}', '/u/\u{10ffff}\u{10ffff}x']);
      assert.deepEqual(await list('/u/\ud7ff'), ['/u/\ud7ff']);
      assert.equal((await store.list('')).items.length, keys.length);
      assert.deepEqual(prefixRange('ab'), { lo: 'ab', hi: 'ac' });
      assert.deepEqual(prefixRange('a\u{10ffff}'), { lo: 'a\u{10ffff}', hi: 'b' });
      assert.ok(Buffer.isBuffer(prefixRange('').hi));
    }));

  it('reads lists and pages from the log when the store moved on, and counts remaining items when cheap', () =>
    withFile(async (open) => {
      const store = open();
      for (let i = 0; i < 30; i++) await store.create(`/p/${String(i).padStart(2, '0')}`, String(i));
      const first = await store.list('/p/', { limit: 7 });
      assert.equal(first.remaining, 23);
      const second = await store.list('/p/', { limit: 7, continue: first.continue! });
      assert.equal(second.remaining, 16, 'nothing changed: still read from the current table');
      await store.create('/p/zz', 'new');
      const third = await store.list('/p/', { limit: 7, continue: second.continue! });
      assert.deepEqual(third.items.map((kv) => kv.value), ['14', '15', '16', '17', '18', '19', '20']);
      assert.equal(third.revision, first.revision);
    }));
});
