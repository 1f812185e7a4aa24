// The work queue's contract: keys are processed by up to N workers at once,
// a key never by two at a time, a key added while processed runs again
// after, and stop() ends run() even with idle workers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkQueue } from '../../src/controllers/runtime/workqueue.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

test('every idle worker picks up work, and stop() ends run()', async () => {
  const q = new WorkQueue();
  const gate = deferred();
  const running = new Set<string>();
  let peak = 0;
  const allFour = deferred();
  const run = q.run(
    async (key) => {
      running.add(key);
      peak = Math.max(peak, running.size);
      if (running.size === 4) allFour.resolve();
      await gate.promise;
      running.delete(key);
    },
    () => undefined,
    4,
  );
  // Let all four workers go idle first: each must be woken by its own add().
  await new Promise((r) => setImmediate(r));
  for (const k of ['a', 'b', 'c', 'd']) q.add(k);
  await allFour.promise;
  assert.equal(peak, 4);
  gate.resolve();
  await new Promise((r) => setImmediate(r));
  q.stop();
  await run; // would hang if a stopped queue left a worker waiting
});

test('a key is never processed twice at once; re-added while processing, it runs again after', async () => {
  const q = new WorkQueue();
  const gate = deferred();
  let active = 0;
  let calls = 0;
  const second = deferred();
  const run = q.run(
    async () => {
      active++;
      assert.equal(active, 1);
      calls++;
      if (calls === 1) await gate.promise;
      else second.resolve();
      active--;
    },
    () => undefined,
    3,
  );
  q.add('k');
  await new Promise((r) => setImmediate(r));
  q.add('k');
  q.add('k');
  gate.resolve();
  await second.promise;
  assert.equal(calls, 2);
  q.stop();
  await run;
});
