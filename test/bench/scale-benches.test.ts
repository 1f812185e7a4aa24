// The scale benches (bench/scheduler.ts, bench/deployment-scale.ts) still run
// end to end against a real `lodge up --no-agent` and `lodge agent --hollow`,
// in a tiny configuration. They check that every figure was produced and
// nothing was left behind — never how fast anything was.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const bench = (name: string): string => join(ROOT, 'dist', 'bench', `${name}.js`);

function run(name: string, args: string[]): string {
  const r = spawnSync(process.execPath, [bench(name), ...args, '--no-write'], { encoding: 'utf8', timeout: 170_000 });
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /cleanup check: nothing left/);
  assert.doesNotMatch(r.stdout, /wrote .*RESULTS\.md/);
  return r.stdout;
}

describe('bench/scheduler and bench/deployment-scale', () => {
  it('scheduler: binds every Pod and reports throughput and spread', { timeout: 180_000 }, () => {
    const out = run('scheduler', ['--nodes', '5', '--pods', '50']);
    assert.match(out, /first create → all bound\s+[\d.]+ s/);
    assert.match(out, /scheduling throughput, 50 Pods waiting \(scheduler alone\)\s+[\d,]+ Pods\/s\s+≥ 1,000 Pods\/s\s+(PASS|FAIL)/);
    assert.match(out, /backlog: let go → all bound\s+[\d.]+ s\s+0 bound while held/);
    assert.match(out, /scheduling throughput while the Pods are created, binding window\s+[\d,]+ Pods\/s/);
    assert.match(out, /POST → bound latency p50 \/ p99\s+[\d,]+ \/ [\d,]+ ms/);
    assert.match(out, /spread: Pods per node min \/ max \(ideal\)\s+\d+ \/ \d+ \(10\.0\)\s+\d of 5 nodes used/);
    assert.match(out, /quoted, not measured/);
  });

  it('deployment-scale: reaches all available and reports memory and API latencies', { timeout: 180_000 }, () => {
    const out = run('deployment-scale', ['--nodes', '5', '--replicas', '20', '--rate', '5']);
    assert.match(out, /Deployment created → 20 available\s+[\d.]+ s/);
    assert.match(out, /all 20 Pods Running \(watch\)\s+[\d.]+ s/);
    assert.match(out, /lodge up peak RSS \(VmHWM\)\s+\d+ MiB\s+k3s server: 768 MiB \(quoted\)/);
    for (const kind of ['GET Pod', 'GET Node', 'POST ConfigMap', 'DELETE ConfigMap', 'PATCH ConfigMap label', 'single-object reads', 'mutating'])
      assert.match(out, new RegExp(`side client \\(its own connections, TLS included\\): ${kind} p50 / p99 \\([1-9]\\d* calls\\)\\s+[\\d.]+ / [\\d.]+ ms`));
    assert.match(out, /SLI \(server histogram\): single-object reads p50 \/ p99 \([1-9]\d* calls\)\s+[\d.]+ \/ [\d.]+ ms\s+SLO ≤ 1000 ms: (PASS|FAIL)/);
    assert.match(out, /SLI \(server histogram\): mutating calls p50 \/ p99 \([1-9]\d* calls\)\s+[\d.]+ \/ [\d.]+ ms\s+SLO ≤ 1000 ms: (PASS|FAIL)/);
    assert.match(out, /Side-client errors: 0\./);
  });
});
