// The Pod start bench still runs end to end (a real `lodge up` with its node
// agent, the runc peer, and podman and LXD when they are installed — never
// installed from here), in a tiny configuration. It checks that every figure
// was produced, the report renders and nothing is left on the host — never
// how fast anything was.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { formatReport, parsePodStartArgs, resultsSection, type PodStartResult } from '../../bench/pod-start.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const BENCH = join(ROOT, 'dist', 'bench', 'pod-start.js');
const root = process.getuid?.() === 0;

describe('bench/pod-start', () => {
  it('runs every phase against the peers that are here and leaves nothing behind', { skip: !root && 'needs root (runc, conmon, mounts)', timeout: 600_000 }, () => {
    const r = spawnSync(process.execPath, [BENCH, '--runs', '2', '--warmup', '1', '--pods', '5', '--idle', '3', '--no-install', '--no-write'], {
      encoding: 'utf8',
      timeout: 590_000,
    });
    assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    const out = r.stdout;
    assert.match(out, /Lodge: POST → container process running \(host\)\s+\d+(\.\d)?\s/);
    assert.match(out, /Lodge: POST → status\.phase Running \(watch\)\s+\d+(\.\d)?\s/);
    assert.match(out, /runc run -d .*\s1\.00×/);
    // A peer is either measured or says why not.
    assert.match(out, /podman run -d.*(×|not measured: .+)/);
    assert.match(out, /lxc launch.*(×|not measured: .+)/);
    assert.match(out, /Lodge \(phase Running\) \/ runc = [\d.]+×/);
    assert.match(out, /5 Pods at once: all Running\s+[\d.]+ ms\s+[\d.]+ ms\/Pod/);
    assert.match(out, /idle Pod \(3 running\): conmon\s+\d+ KiB\/Pod PSS/);
    assert.match(out, /idle Pod \(3 running\): lodge up RSS growth\s+-?\d+ KiB\/Pod/);
    assert.match(out, /cleanup check: nothing left/);
    assert.doesNotMatch(out, /wrote .*RESULTS\.md/);
  });

  it('parses its flags', () => {
    const { opts, write } = parsePodStartArgs(['--runs', '3', '--pods', '0', '--peers', 'runc', '--no-install', '--no-write'], () => {});
    assert.equal(opts.runs, 3);
    assert.equal(opts.pods, 0);
    assert.equal(opts.idle, 50);
    assert.deepEqual([...opts.peers], ['runc']);
    assert.equal(opts.install, false);
    assert.equal(write, false);
    assert.throws(() => parsePodStartArgs(['--peers', 'docker'], () => {}), /unknown peer/);
    assert.throws(() => parsePodStartArgs(['--runs', '0'], () => {}), /--runs/);
  });

  it('renders ratios, skipped peers and a RESULTS.md section', () => {
    const res: PodStartResult = {
      start: [
        { figure: 'Lodge: POST → container process running (host)', samples: [40, 50, 60] },
        { figure: 'Lodge: POST → status.phase Running (watch)', samples: [50, 60, 70] },
        { figure: 'runc run -d (plain dir, same config)', samples: [20, 30, 40] },
        { figure: 'podman run -d (4.3.1, runc, --network none)', samples: [180, 200, 220] },
        { figure: 'lxc launch', samples: [], skipped: 'lxc is not installed (--no-install)' },
      ],
      burst: { pods: 100, totalMs: 5000, perPodMs: 50, each: { n: 100, p50: 2500, p90: 4500, p99: 4900, max: 5000, mean: 2500 }, postsMs: 300 },
      memory: { pods: 50, conmonPssKiB: 700, conmonRssKiB: 2500, containerPssKiB: 500, lodgeRssBeforeKiB: 100_000, lodgeRssAfterKiB: 110_000, lodgeGrowthKiB: 200 },
      details: ['a detail'],
      lodgeCommand: 'node dist/src/cli/main.js up',
      leftovers: [],
    };
    const text = formatReport(res, false);
    assert.match(text, /Lodge \(phase Running\) \/ runc = 2\.00× \(target ≤ 2×\): PASS/);
    assert.match(text, /podman \/ Lodge \(phase Running\) = 3\.33× \(target ≥ 3×\): PASS/);
    assert.match(text, /LXD \/ Lodge: not measured/);
    assert.match(text, /not measured: lxc is not installed/);
    assert.match(text, /100 Pods at once: all Running\s+5000 ms\s+50\.0 ms\/Pod/);
    const md = resultsSection(res, 'node dist/bench/pod-start.js', { runs: 3, warmup: 1, pods: 100, idle: 50, peers: new Set(['runc']), install: false, log: () => {} });
    assert.match(md, /^Date: /);
    assert.match(md, /\| start to running \(ms\) \| median \| p90 \| max \| vs runc \| note \|/);
    assert.match(md, /- a detail/);
  });
});
