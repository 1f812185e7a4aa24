// Summarize a V8 .cpuprofile (node --cpu-prof): where the time goes, by
// function, as self time and as inclusive (on-stack) time.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  selfMs: number;
  selfPct: number;
  totalMs: number;
  totalPct: number;
}

export interface ProfileSummary {
  /** Sampled time, excluding (idle). */
  busyMs: number;
  wallMs: number;
  idleMs: number;
  bySelf: FunctionTime[];
  byTotal: FunctionTime[];
}

function shortUrl(url: string): string {
  if (!url) return '';
  let u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) return u.slice(nm + '/node_modules/'.length);
  const dist = u.lastIndexOf('/dist/');
  if (dist >= 0) u = u.slice(dist + '/dist/'.length);
  return u;
}

function keyOf(cf: CallFrame): string {
  const name = cf.functionName || '(anonymous)';
  const where = shortUrl(cf.url);
  return where ? `${name} ${where}:${cf.lineNumber + 1}` : name;
}

export function summarizeProfile(path: string, top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) byId.set(n.id, n);
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let idle = 0;
  let all = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000; // the delta after a sample is the time it stood for
    const node = byId.get(p.samples[i]);
    if (!node) continue;
    all += dt;
    const k = keyOf(node.callFrame);
    if (k === '(idle)') {
      idle += dt;
      continue;
    }
    self.set(k, (self.get(k) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const kk = keyOf(byId.get(id)!.callFrame);
      if (kk === '(root)' || seen.has(kk)) continue;
      seen.add(kk);
      total.set(kk, (total.get(kk) ?? 0) + dt);
    }
  }
  const busy = all - idle;
  const rows = (m: Map<string, number>): FunctionTime[] =>
    [...m.keys()].map((name) => ({
      name,
      selfMs: self.get(name) ?? 0,
      selfPct: (100 * (self.get(name) ?? 0)) / busy,
      totalMs: total.get(name) ?? 0,
      totalPct: (100 * (total.get(name) ?? 0)) / busy,
    }));
  return {
    busyMs: busy,
    idleMs: idle,
    wallMs: (p.endTime - p.startTime) / 1000,
    bySelf: rows(self).sort((a, b) => b.selfMs - a.selfMs).slice(0, top),
    byTotal: rows(total).sort((a, b) => b.totalMs - a.totalMs).slice(0, top),
  };
}

export function formatProfile(s: ProfileSummary): string {
  const lines: string[] = [];
  lines.push(`busy ${s.busyMs.toFixed(0)} ms of ${s.wallMs.toFixed(0)} ms sampled (idle ${s.idleMs.toFixed(0)} ms)`);
  lines.push('', 'self time:');
  for (const r of s.bySelf) lines.push(`  ${r.selfPct.toFixed(1).padStart(5)}%  ${r.selfMs.toFixed(0).padStart(7)} ms  ${r.name}`);
  lines.push('', 'inclusive time:');
  for (const r of s.byTotal) lines.push(`  ${r.totalPct.toFixed(1).padStart(5)}%  ${r.totalMs.toFixed(0).padStart(7)} ms  ${r.name}`);
  return lines.join('\n');
}

// `node dist/bench/lib/cpuprofile.js FILE [TOP]`
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node dist/bench/lib/cpuprofile.js FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatProfile(summarizeProfile(file, Number(process.argv[3] ?? 25)))}\n`);
}
