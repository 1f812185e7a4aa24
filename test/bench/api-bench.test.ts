// The API bench still runs end to end against a real `lodge up`, in a tiny
// configuration. It checks that every figure was produced and the report
// renders — never how fast anything was.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULTS, formatTable, podManifest, resultsSection, runApiBench, type ApiBenchOptions } from '../../bench/api.js';
import { writeSection } from '../../bench/lib/results-md.js';
import { percentile, summarize } from '../../bench/lib/stats.js';

describe('bench/api', () => {
  it('runs every phase and reports every figure', async () => {
    const opts: ApiBenchOptions = {
      ...DEFAULTS,
      count: 40,
      warmup: 10,
      concurrency: 2,
      listSize: 30,
      listRuns: 1,
      gets: 20,
      watchers: 3,
      watchEvents: 5,
      watchRate: 200,
      rawSqliteN: 50,
      phases: new Set(['raw', 'create', 'get', 'list', 'watch']),
      log: () => {},
    };
    const res = await runApiBench(opts);
    const figures = res.rows.map((r) => r.figure);
    for (const want of ['create HTTP/1.1: throughput', 'create HTTP/2: p99', 'GET HTTP/1.1 (1 client): p99', 'LIST 30 HTTP/2: full JSON', 'watch HTTP/1.1 (3 watchers): p99', 'raw SQLite single-row commits'])
      assert.ok(figures.includes(want), `missing figure ${want} in ${figures.join(', ')}`);
    for (const r of res.rows) assert.ok(Number.isFinite(r.value) && r.value >= 0, `${r.figure}: ${r.value}`);
    assert.ok(!res.details.some((d) => /missing/.test(d)), res.details.join('\n'));
    assert.match(formatTable(res.rows, false), /create HTTP\/1\.1: throughput/);
    assert.match(resultsSection(res, 'node dist/bench/api.js', opts), /\| figure \| value \| target \| result \| ratio \|/);
  });

  it('sends a Pod of about 1 KB', () => {
    const n = JSON.stringify(podManifest('h1-12345', 'bench-h1', 3)).length;
    assert.ok(n > 900 && n < 1400, `${n} bytes`);
  });

  it('refreshes one section of RESULTS.md in place', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lodge-results-md-'));
    try {
      const f = join(dir, 'RESULTS.md');
      writeFileSync(f, '# T\n\n## A\n\nold a\n\n## B\n\nold b\n');
      writeSection(f, 'A', 'new a');
      writeSection(f, 'C', 'new c');
      assert.equal(readFileSync(f, 'utf8'), '# T\n\n## A\n\nnew a\n\n## B\n\nold b\n\n## C\n\nnew c\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('computes nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.equal(percentile(Float64Array.from(xs).sort(), 50), 50);
    assert.equal(summarize(xs).p99, 99);
    assert.equal(summarize(xs).max, 100);
  });
});
