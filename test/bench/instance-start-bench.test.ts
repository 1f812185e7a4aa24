// The Instance start bench still runs end to end (a real `lodge up` with its
// node agent booting busybox-vm under QEMU and a busybox system container,
// against the hand-written QEMU command line), in a tiny configuration with
// no peers. It checks that every figure was produced, the report renders and
// nothing is left on the host — never how fast anything was.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { formatReport, parseInstanceStartArgs, resultsSection, type InstanceStartResult } from '../../bench/instance-start.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const BENCH = join(ROOT, 'dist', 'bench', 'instance-start.js');
const root = process.getuid?.() === 0;
const qemu = ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64'].some((p) => existsSync(p));

describe('bench/instance-start', () => {
  it('runs every phase and leaves nothing behind', { skip: (!root && 'needs root (runc, conmon, QEMU in cgroups)') || (!qemu && 'needs qemu-system-x86_64'), timeout: 900_000 }, () => {
    const r = spawnSync(process.execPath, [BENCH, '--runs', '1', '--vms', '2', '--idle', '1', '--peers', 'none', '--no-install', '--no-write'], {
      encoding: 'utf8',
      timeout: 890_000,
    });
    assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    const out = r.stdout;
    assert.match(out, /accelerator (TCG|KVM)/);
    assert.match(out, /Lodge: POST → LODGE-GUEST-READY in the console log\s+\d+(\.\d)?\s/);
    assert.match(out, /raw qemu-system-x86_64: .*\s1\.00×/);
    assert.match(out, /Lodge \(POST → guest ready\) \/ raw QEMU = [\d.]+×/);
    assert.match(out, /Lodge: POST → "lodge: booted NAME" in the console log\s+\d+(\.\d)?\s/);
    assert.match(out, /lxc launch.*not measured: not asked for/);
    assert.match(out, /idle 256 MiB VM \(1 running\): Lodge's QEMU\s+[\d.]+ MiB RSS/);
    assert.match(out, /idle VM \(1 running\): lodge up RSS growth\s+-?\d+ KiB\/VM/);
    assert.match(out, /2 VMs at once: all guests ready\s+[\d.]+ ms/);
    assert.match(out, /2 VMs at once: disk used by their state\s+[\d.]+ MiB/);
    assert.match(out, /cleanup check: nothing left/);
    assert.doesNotMatch(out, /wrote .*RESULTS\.md/);
  });

  it('parses its flags', () => {
    const { opts, write } = parseInstanceStartArgs(['--runs', '3', '--vms', '0', '--peers', 'none', '--no-install', '--no-write'], () => {});
    assert.equal(opts.runs, 3);
    assert.equal(opts.vms, 0);
    assert.equal(opts.idle, 5);
    assert.deepEqual([...opts.peers], []);
    assert.equal(opts.install, false);
    assert.equal(write, false);
    assert.deepEqual([...parseInstanceStartArgs([], () => {}).opts.peers], ['lxd']);
    assert.throws(() => parseInstanceStartArgs(['--peers', 'incus'], () => {}), /unknown peer/);
    assert.throws(() => parseInstanceStartArgs(['--runs', '0'], () => {}), /--runs/);
  });

  it('renders ratios, skipped peers and a RESULTS.md section', () => {
    const res: InstanceStartResult = {
      accelerator: 'tcg',
      qemuVersion: '7.2.0',
      vm: [
        { figure: 'Lodge: POST → LODGE-GUEST-READY in the console log', samples: [2200, 2300, 2400] },
        { figure: 'Lodge: POST → status.phase Running (watch)', samples: [100, 110, 120] },
        { figure: 'raw qemu-system-x86_64: qemu-img create + spawn → LODGE-GUEST-READY on stdout', samples: [2000, 2100, 2200] },
      ],
      container: [
        { figure: 'Lodge: POST → "lodge: booted NAME" in the console log', samples: [70, 80, 90] },
        { figure: 'Lodge: POST → status.phase Running (watch)', samples: [60, 70, 80] },
        { figure: 'lxc launch (LXD 5.0.2, dir pool)', samples: [], skipped: 'lxc is not installed (--no-install)' },
      ],
      memory: { vms: 5, qemuRssKiB: 240 * 1024, qemuPssKiB: 200 * 1024, lodgeRssBeforeKiB: 100_000, lodgeRssAfterKiB: 105_000, lodgeGrowthKiB: 1000 },
      burst: { vms: 20, totalMs: 40_000, each: { p50: 30_000, p90: 38_000, max: 40_000 }, postsMs: 200, stateKiB: 8000, overlayKiB: 7000, imageKiB: 64_000, imageDiskKiB: 9000 },
      details: ['a detail'],
      lodgeCommand: 'node dist/src/cli/main.js up',
      rawCommand: 'qemu-system-x86_64 ...',
      leftovers: [],
    };
    const text = formatReport(res, false);
    assert.match(text, /Lodge \(POST → guest ready\) \/ raw QEMU = 1\.10× \(target ≤ 1\.15×\): PASS/);
    assert.match(text, /LXD \/ Lodge: not measured/);
    assert.match(text, /not measured: lxc is not installed/);
    assert.match(text, /20 VMs at once: all guests ready\s+40000 ms/);
    assert.match(text, /Lodge's QEMU\s+240\.0 MiB RSS/);
    const md = resultsSection(res, 'node dist/bench/instance-start.js', { runs: 3, vms: 20, idle: 5, peers: new Set(), install: false, log: () => {} });
    assert.match(md, /^Date: /);
    assert.match(md, /accelerator \*\*TCG\*\*/);
    assert.match(md, /\| VM start \(ms, TCG\) \| median \| p90 \| max \| vs raw \| note \|/);
    assert.match(md, /- a detail/);
  });
});
