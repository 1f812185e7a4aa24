// The API server bench: a real `lodge up` (child process, temporary data
// dir), driven over HTTPS with the admin token and Lodge's CA.
//
//   node dist/bench/api.js [--count N] [--phases create,get,list,watch]
//                          [--cpu-prof DIR] [--no-write]
//
// Figures (targets from DESIGN.md, "Speed"):
//   1. create throughput, 8 concurrent keep-alive connections, HTTP/1.1 and
//      HTTP/2: objects/s and p50/p99 latency      (≥ 3,000/s, p99 < 20 ms)
//   2. single-object GET latency, one client      (p99 < 5 ms)
//   3. LIST of 10,000 pods in one namespace       (< 300 ms, median)
//   4. watch delivery latency, 100 watchers       (p99 < 10 ms)
//   5. raw SQLite single-row commit rate of this machine: the ceiling
// It prints a table and refreshes the "Step 1 — API server" section of
// bench/RESULTS.md. Nothing here asserts a timing.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { rawSqliteWriteRate } from './sqlite-raw.js';
import { formatProfile, summarizeProfile } from './lib/cpuprofile.js';
import { call, closeAll, connect, authHeaders, timedGet, type Conn, type Protocol } from './lib/http.js';
import { startLodge, type RunningLodge } from './lib/lodge.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { writeSection } from './lib/results-md.js';
import { median, nowMs, sleep, summarize, type Summary } from './lib/stats.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RESULTS_MD = join(ROOT, 'bench', 'RESULTS.md');
export const SECTION = 'Step 1 — API server';

export type Phase = 'create' | 'get' | 'list' | 'watch' | 'raw';
const ALL_PHASES: Phase[] = ['raw', 'create', 'get', 'list', 'watch'];

export interface ApiBenchOptions {
  /** Measured creates per protocol. */
  count: number;
  /** Unmeasured creates per protocol before the measured ones. */
  warmup: number;
  concurrency: number;
  listSize: number;
  listRuns: number;
  gets: number;
  watchers: number;
  watchEvents: number;
  /** Writes per second while watchers listen. */
  watchRate: number;
  rawSqliteN: number;
  phases: Set<Phase>;
  /** Run the server under `node --cpu-prof`, profiles into this dir. */
  cpuProfDir?: string;
  log: (line: string) => void;
}

export const DEFAULTS: Omit<ApiBenchOptions, 'phases' | 'log'> = {
  count: 20_000,
  warmup: 2_000,
  concurrency: 8,
  listSize: 10_000,
  listRuns: 7,
  gets: 5_000,
  watchers: 100,
  watchEvents: 500,
  watchRate: 100,
  rawSqliteN: 20_000,
};

/** One line of the results table. */
export interface Row {
  figure: string;
  value: number;
  unit: 'obj/s' | 'ms' | 'commits/s' | 'get/s';
  /** Target: a floor for rates, a ceiling for times. */
  target?: number;
  /** Free-text ratios and notes. */
  note?: string;
}

export interface ApiBenchResult {
  rows: Row[];
  lodgeCommand: string;
  podBytes: number;
  details: string[];
  profiles: string[];
}

// ---- the workload --------------------------------------------------------

/** A realistic Pod of about 1 KB as a client sends it. */
export function podManifest(name: string, ns: string, shard: number): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: ns,
      labels: { app: 'bench-web', tier: 'frontend', release: 'stable', shard: `s${shard}` },
      annotations: { 'bench.lodge.dev/purpose': 'api throughput', 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9102' },
    },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'registry.example.com/team/web:1.24.3',
          command: ['/bin/web'],
          args: ['--listen=:8080', '--log-level=info', '--config=/etc/web/config.yaml'],
          ports: [
            { name: 'http', containerPort: 8080, protocol: 'TCP' },
            { name: 'metrics', containerPort: 9102, protocol: 'TCP' },
          ],
          env: [
            { name: 'MODE', value: 'production' },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          ],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
          volumeMounts: [{ name: 'config', mountPath: '/etc/web', readOnly: true }],
          readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 5 },
        },
      ],
      volumes: [{ name: 'config', configMap: { name: 'web-config' } }],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
    },
  };
}

const podsPath = (ns: string): string => `/api/v1/namespaces/${ns}/pods`;
/** What kubectl get sends. */
const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

async function createNamespace(c: Conn, l: RunningLodge, name: string): Promise<void> {
  await call(c, l, 'POST', '/api/v1/namespaces', { body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }) });
}

/** `total` operations spread over the connections, one in flight per connection. */
async function drive(conns: Conn[], total: number, op: (c: Conn, i: number) => Promise<void>): Promise<{ seconds: number; lat: Float64Array; fifths: number[] }> {
  const lat = new Float64Array(total);
  const ends: number[] = [];
  let next = 0;
  const t0 = nowMs();
  await Promise.all(
    conns.map(async (c) => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const s = nowMs();
        await op(c, i);
        const e = nowMs();
        lat[i] = e - s;
        ends.push(e);
      }
    }),
  );
  // Throughput in each fifth of the run (by completions): does it hold up as the store grows?
  const fifths: number[] = [];
  for (let k = 0; k < 5 && total >= 5; k++) {
    const a = k === 0 ? t0 : ends[Math.floor((k * total) / 5) - 1];
    const b = ends[Math.floor(((k + 1) * total) / 5) - 1];
    fifths.push(Math.round((total / 5) / ((b - a) / 1000)));
  }
  return { seconds: (nowMs() - t0) / 1000, lat, fifths };
}

function createPods(l: RunningLodge, ns: string, prefix: string) {
  return async (c: Conn, i: number): Promise<void> => {
    await call(c, l, 'POST', podsPath(ns), { body: JSON.stringify(podManifest(`${prefix}${i}`, ns, i % 10)), ok: [201] });
  };
}

/** CPU used by the server and by this client while `fn` runs. */
async function withCpu<T>(l: RunningLodge, fn: () => Promise<T>): Promise<{ value: T; serverS: number; clientS: number; wallS: number }> {
  const s0 = l.cpuSeconds();
  const c0 = process.cpuUsage();
  const w0 = nowMs();
  const value = await fn();
  const c = process.cpuUsage(c0);
  return { value, serverS: l.cpuSeconds() - s0, clientS: (c.user + c.system) / 1e6, wallS: (nowMs() - w0) / 1000 };
}

function cpuNote(cpu: { serverS: number; clientS: number; wallS: number }, ops: number, what: string): string {
  const us = (sec: number): string => `${Math.round((sec * 1e6) / ops)} µs`;
  return `server CPU ${us(cpu.serverS)}/${what} (${Math.round((100 * cpu.serverS) / cpu.wallS)}% of a core), bench client CPU ${us(cpu.clientS)}/${what}`;
}

const f1 = (n: number): string => n.toFixed(1);
const f2 = (n: number): string => n.toFixed(2);
const lat = (s: Summary): string => `p50 ${f2(s.p50)} ms, p99 ${f2(s.p99)} ms, max ${f1(s.max)} ms (n=${s.n})`;

// ---- phases --------------------------------------------------------------

async function benchCreate(l: RunningLodge, o: ApiBenchOptions, proto: Protocol, rows: Row[], details: string[], raw?: number): Promise<void> {
  const conns = Array.from({ length: o.concurrency }, () => connect(l, proto));
  try {
    await createNamespace(conns[0], l, `bench-${proto}`);
    await drive(conns, o.warmup, createPods(l, 'bench-warm', `${proto}-warm-`));
    const alpn = [...new Set(conns.map((c) => c.alpn()))].join(',');
    const cpu = await withCpu(l, () => drive(conns, o.count, createPods(l, `bench-${proto}`, `${proto}-`)));
    const r = cpu.value;
    const s = summarize(r.lat);
    const rate = o.count / r.seconds;
    const name = proto === 'h1' ? 'HTTP/1.1' : 'HTTP/2';
    const cn = cpuNote(cpu, o.count, 'create');
    o.log(`create ${name} (alpn ${alpn}): ${Math.round(rate)} obj/s, ${lat(s)}; ${cn}`);
    o.log(`create ${name}: obj/s by fifth of the run: ${r.fifths.join(' / ')}`);
    details.push(
      `create over ${name} (negotiated ALPN: ${alpn}), ${o.concurrency} connections, ${o.count} pods after ${o.warmup} warm-up: ${Math.round(rate)} obj/s, ${lat(s)}; ` +
        `obj/s by fifth of the run: ${r.fifths.join(' / ')}; ${cn}`,
    );
    const ofRaw = [raw ? `${((100 * rate) / raw).toFixed(1)}% of raw SQLite` : '', `server ${Math.round((cpu.serverS * 1e6) / o.count)} µs CPU/obj, so ≤ ${Math.round(o.count / cpu.serverS).toLocaleString('en-US')}/s on one core`].filter(Boolean).join('; ');
    rows.push({ figure: `create ${name}: throughput`, value: rate, unit: 'obj/s', target: 3000, note: ofRaw });
    rows.push({ figure: `create ${name}: p50`, value: s.p50, unit: 'ms' });
    rows.push({ figure: `create ${name}: p99`, value: s.p99, unit: 'ms', target: 20 });
  } finally {
    await closeAll(conns);
  }
}

/** Pods to read: the measured creates of the HTTP/1.1 run, else a fresh set. */
async function ensureGetTargets(l: RunningLodge, o: ApiBenchOptions, created: boolean): Promise<{ ns: string; prefix: string; n: number }> {
  if (created) return { ns: 'bench-h1', prefix: 'h1-', n: o.count };
  const conns = Array.from({ length: o.concurrency }, () => connect(l, 'h2'));
  try {
    await createNamespace(conns[0], l, 'bench-get');
    const n = Math.min(o.count, 5000);
    await drive(conns, n, createPods(l, 'bench-get', 'get-'));
    return { ns: 'bench-get', prefix: 'get-', n };
  } finally {
    await closeAll(conns);
  }
}

async function benchGet(l: RunningLodge, o: ApiBenchOptions, rows: Row[], details: string[], target: { ns: string; prefix: string; n: number }): Promise<void> {
  // A fixed pseudo-random sequence of names (LCG), the same every run.
  let seed = 12345;
  const pick = (): string => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return `${podsPath(target.ns)}/${target.prefix}${seed % target.n}`;
  };
  for (const proto of ['h1', 'h2'] as Protocol[]) {
    const c = connect(l, proto);
    try {
      await drive([c], Math.min(500, o.gets), async (cc) => void (await call(cc, l, 'GET', pick())));
      const r = await drive([c], o.gets, async (cc) => void (await call(cc, l, 'GET', pick())));
      const s = summarize(r.lat);
      const name = proto === 'h1' ? 'HTTP/1.1' : 'HTTP/2';
      o.log(`get ${name}, one client: ${lat(s)}`);
      details.push(`GET of one pod over ${name}, one client, one at a time, ${o.gets} gets of random pods among ${target.n}: ${lat(s)}`);
      rows.push({ figure: `GET ${name} (1 client): p50`, value: s.p50, unit: 'ms' });
      rows.push({ figure: `GET ${name} (1 client): p99`, value: s.p99, unit: 'ms', target: 5 });
    } finally {
      await closeAll([c]);
    }
  }
  // Under load: 8 clients at once (information).
  const conns = Array.from({ length: o.concurrency }, () => connect(l, 'h2'));
  try {
    const n = o.gets * 4;
    const cpu = await withCpu(l, () => drive(conns, n, async (cc) => void (await call(cc, l, 'GET', pick()))));
    const r = cpu.value;
    const s = summarize(r.lat);
    const cn = cpuNote(cpu, n, 'get');
    o.log(`get HTTP/2, ${o.concurrency} clients: ${Math.round(n / r.seconds)} get/s, ${lat(s)}; ${cn}`);
    details.push(`GET under load, HTTP/2, ${o.concurrency} connections, ${n} gets: ${Math.round(n / r.seconds)} get/s, ${lat(s)}; ${cn}`);
    rows.push({ figure: `GET HTTP/2 (${o.concurrency} clients): rate`, value: n / r.seconds, unit: 'get/s' });
    rows.push({ figure: `GET HTTP/2 (${o.concurrency} clients): p99`, value: s.p99, unit: 'ms' });
  } finally {
    await closeAll(conns);
  }
}

async function benchList(l: RunningLodge, o: ApiBenchOptions, rows: Row[], details: string[]): Promise<void> {
  const ns = 'bench-list';
  const conns = Array.from({ length: o.concurrency }, () => connect(l, 'h2'));
  try {
    await createNamespace(conns[0], l, ns);
    const r = await drive(conns, o.listSize, createPods(l, ns, 'list-'));
    details.push(`LIST namespace filled with ${o.listSize} pods (HTTP/2, ${o.concurrency} connections): ${Math.round(o.listSize / r.seconds)} obj/s`);
  } finally {
    await closeAll(conns);
  }
  for (const proto of ['h1', 'h2'] as Protocol[]) {
    const name = proto === 'h1' ? 'HTTP/1.1' : 'HTTP/2';
    const c = connect(l, proto);
    try {
      /**
       * Median time to the last byte of `runs` requests after one unmeasured
       * request, which checks the item count. Measured bodies are counted, not
       * decoded: the figure is the server's, not this client's JSON handling.
       */
      const timed = async (what: string, path: string, accept: string | undefined, wantItems: number, key: 'items' | 'rows'): Promise<{ ms: number; ttfb: number; bytes: number }> => {
        const headers = accept ? { accept } : undefined;
        const first = await call(c, l, 'GET', path, { headers });
        const got = (JSON.parse(first.text) as Record<string, unknown[]>)[key]?.length;
        if (got !== wantItems) throw new Error(`${what}: expected ${wantItems} ${key}, got ${got}`);
        const times: number[] = [];
        const ttfbs: number[] = [];
        for (let i = 0; i < o.listRuns; i++) {
          const r = await timedGet(c, l, path, headers);
          times.push(r.totalMs);
          ttfbs.push(r.ttfbMs);
        }
        return { ms: median(times), ttfb: median(ttfbs), bytes: Buffer.byteLength(first.text) };
      };
      /** kubectl get: Table pages of 500 with continue tokens until done. */
      const paged = async (): Promise<number> => {
        const times: number[] = [];
        for (let run = 0; run < Math.max(3, Math.ceil(o.listRuns / 2)); run++) {
          const s = nowMs();
          let cont = '';
          let rowsSeen = 0;
          for (let page = 0; page < 1000; page++) {
            const q = `?limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`;
            const r = JSON.parse((await call(c, l, 'GET', podsPath(ns) + q, { headers: { accept: TABLE_ACCEPT } })).text) as { rows: unknown[]; metadata: { continue?: string } };
            rowsSeen += r.rows.length;
            cont = r.metadata.continue ?? '';
            if (!cont) break;
          }
          times.push(nowMs() - s);
          if (rowsSeen !== o.listSize) throw new Error(`paged table list: expected ${o.listSize} rows, got ${rowsSeen}`);
        }
        return median(times);
      };
      const full = await timed('full list', podsPath(ns), undefined, o.listSize, 'items');
      const sel = await timed('selector list', `${podsPath(ns)}?labelSelector=${encodeURIComponent('shard=s3')}`, undefined, o.listSize / 10, 'items');
      const table = await timed('table list', podsPath(ns), TABLE_ACCEPT, o.listSize, 'rows');
      const pagedMs = await paged();
      o.log(`list ${name}: full ${f1(full.ms)} ms (headers after ${f1(full.ttfb)} ms, ${(full.bytes / 2 ** 20).toFixed(1)} MiB), selector ${f1(sel.ms)} ms, table ${f1(table.ms)} ms, kubectl-style pages ${f1(pagedMs)} ms`);
      details.push(
        `LIST of ${o.listSize} pods over ${name}, median time to the last byte of ${o.listRuns} runs after one unmeasured (bodies counted, not decoded): ` +
          `full JSON ${f1(full.ms)} ms (response headers after ${f1(full.ttfb)} ms; ${(full.bytes / 2 ** 20).toFixed(1)} MiB, ${Math.round(full.bytes / o.listSize)} bytes/pod); ` +
          `labelSelector shard=s3 (${o.listSize / 10} items) ${f1(sel.ms)} ms; as Table ${f1(table.ms)} ms (${(table.bytes / 2 ** 20).toFixed(1)} MiB); ` +
          `as Table in pages of 500 (what kubectl get does; pages decoded for their continue token) ${f1(pagedMs)} ms for all pages`,
      );
      rows.push({ figure: `LIST ${o.listSize} ${name}: full JSON`, value: full.ms, unit: 'ms', target: 300, note: `${(full.bytes / 2 ** 20).toFixed(1)} MiB` });
      rows.push({ figure: `LIST ${name}: labelSelector (1/10)`, value: sel.ms, unit: 'ms' });
      rows.push({ figure: `LIST ${name}: as Table`, value: table.ms, unit: 'ms' });
      rows.push({ figure: `LIST ${name}: Table, limit=500 pages`, value: pagedMs, unit: 'ms', note: 'kubectl get' });
    } finally {
      await closeAll([c]);
    }
  }
}

async function benchWatch(l: RunningLodge, o: ApiBenchOptions, proto: Protocol, rows: Row[], details: string[]): Promise<void> {
  const name = proto === 'h1' ? 'HTTP/1.1' : 'HTTP/2';
  const ns = `bench-watch-${proto}`;
  const writer = connect(l, proto);
  const watchers: Conn[] = [];
  const bodies: { destroy(): void }[] = [];
  try {
    await createNamespace(writer, l, ns);
    const rv = (JSON.parse((await call(writer, l, 'GET', `${podsPath(ns)}?limit=1`)).text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    const E = o.watchEvents;
    const W = o.watchers;
    // The first WU events warm the path up (and are not counted): the server's
    // first create of a kind compiles its schema, which stalls everything once.
    const WU = Math.min(50, E);
    const T = WU + E;
    const sent = new Float64Array(T).fill(NaN);
    const deliveries = new Float64Array(W * E);
    let delivered = 0;
    let arrived = 0;
    let stray = 0;
    let allIn: () => void = () => {};
    const done = new Promise<void>((r) => (allIn = r));
    for (let w = 0; w < W; w++) {
      const c = connect(l, proto);
      watchers.push(c);
      const r = await c.client.request({ method: 'GET', path: `${podsPath(ns)}?watch=1&resourceVersion=${rv}`, headers: authHeaders(l) });
      if (r.statusCode !== 200) throw new Error(`watch: HTTP ${r.statusCode}: ${await r.body.text()}`);
      bodies.push(r.body);
      const dec = new StringDecoder('utf8');
      let buf = '';
      r.body.on('data', (chunk: Buffer) => {
        const t = nowMs();
        buf += dec.write(chunk);
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const m = /"name":"w-(\d+)"/.exec(line);
          const j = m ? Number(m[1]) : -1;
          if (!line.startsWith('{"type":"ADDED"') || !(j >= 0 && j < T) || Number.isNaN(sent[j])) {
            stray++;
            continue;
          }
          if (j >= WU) deliveries[delivered++] = t - sent[j];
          if (++arrived === W * T) allIn();
        }
      });
      r.body.on('error', () => {
        /* destroyed at the end */
      });
    }
    // One writer, paced: a create every 1/rate s (or right after the previous
    // one when it took longer). t0 is taken just before the request is sent.
    const interval = 1000 / o.watchRate;
    const createLat = new Float64Array(T);
    const start = nowMs() + 50;
    let timedOut = false;
    const cpu = await withCpu(l, async () => {
      for (let j = 0; j < T; j++) {
        const wait = start + j * interval - nowMs();
        if (wait > 0) await sleep(wait);
        const body = JSON.stringify(podManifest(`w-${j}`, ns, j % 10));
        sent[j] = nowMs();
        await call(writer, l, 'POST', podsPath(ns), { body, ok: [201] });
        createLat[j] = nowMs() - sent[j];
      }
      let timer: NodeJS.Timeout | undefined;
      timedOut = await Promise.race([done.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), 30_000)))]);
      clearTimeout(timer);
    });
    const s = summarize(deliveries.subarray(0, delivered));
    const cs = summarize(createLat.subarray(WU));
    const missing = W * T - arrived;
    o.log(`watch ${name}: ${W} watchers × ${E} events: ${lat(s)}; create in the meantime p50 ${f2(cs.p50)} ms${missing ? `; MISSING ${missing}` : ''}${stray ? `; ${stray} unexpected lines` : ''}`);
    details.push(
      `watch over ${name}: ${W} watchers (one connection each) on ${podsPath(ns)}, ${E} creates at ${o.watchRate}/s from one writer after ${WU} unmeasured; latency from just before the create is sent to the event line reaching each watcher: ${lat(s)}` +
        `${missing ? `; ${missing} deliveries missing${timedOut ? ' after 30 s' : ''}` : ''}; the creates themselves: p50 ${f2(cs.p50)} ms, p99 ${f2(cs.p99)} ms; ` +
        `${cpuNote(cpu, W * T, 'delivery')}`,
    );
    rows.push({ figure: `watch ${name} (${W} watchers): p50`, value: s.p50, unit: 'ms' });
    rows.push({ figure: `watch ${name} (${W} watchers): p99`, value: s.p99, unit: 'ms', target: 10, note: missing ? `${missing} missing` : `create p50 ${f2(cs.p50)} ms` });
  } finally {
    for (const b of bodies) b.destroy();
    await closeAll([writer, ...watchers]);
  }
}

// ---- the whole bench -----------------------------------------------------

export async function runApiBench(o: ApiBenchOptions): Promise<ApiBenchResult> {
  const rows: Row[] = [];
  const details: string[] = [];
  const profiles: string[] = [];
  let raw: number | undefined;
  if (o.phases.has('raw')) {
    // Before the server starts, on the same file system as its data dir.
    const dir = mkdtempSync(join(tmpdir(), 'lodge-bench-raw-'));
    try {
      raw = rawSqliteWriteRate(dir, o.rawSqliteN).commitsPerSecond;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    o.log(`raw SQLite: ${raw} commits/s`);
    details.push(`raw SQLite (better-sqlite3, the store's pragmas, one-row autocommit INSERTs, ${o.rawSqliteN} rows): ${raw} commits/s`);
  }
  const lodge = await startLodge({
    nodeArgs: o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : [],
    // No compaction pass in the middle of a measurement.
    upArgs: ['--compact-interval', '3600'],
  });
  o.log(`lodge up: pid ${lodge.pid} at ${lodge.url}; load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  details.unshift(`load average (1/5/15 min) when the server started: ${loadavg().map((x) => x.toFixed(2)).join(' / ')} — other work on this machine shares its ${machineInfo().nproc} cores`);
  try {
    const setup = connect(lodge, 'h1');
    try {
      await createNamespace(setup, lodge, 'bench-warm');
    } finally {
      await closeAll([setup]);
    }
    if (o.phases.has('create')) {
      await benchCreate(lodge, o, 'h1', rows, details, raw);
      await benchCreate(lodge, o, 'h2', rows, details, raw);
    }
    if (o.phases.has('get')) await benchGet(lodge, o, rows, details, await ensureGetTargets(lodge, o, o.phases.has('create')));
    if (o.phases.has('list')) await benchList(lodge, o, rows, details);
    if (o.phases.has('watch')) {
      await benchWatch(lodge, o, 'h1', rows, details);
      await benchWatch(lodge, o, 'h2', rows, details);
    }
  } catch (e) {
    o.log(`server log tail:\n${lodge.logTail()}`);
    throw e;
  } finally {
    const exit = await lodge.stop();
    if (exit.code !== 0) o.log(`lodge up exited with ${exit.code ?? exit.signal}`);
  }
  if (raw !== undefined) rows.push({ figure: 'raw SQLite single-row commits', value: raw, unit: 'commits/s', note: 'the ceiling' });
  if (o.cpuProfDir) {
    for (const f of readdirSync(o.cpuProfDir).filter((f) => f.endsWith('.cpuprofile'))) {
      const p = join(o.cpuProfDir, f);
      profiles.push(`${p}\n${formatProfile(summarizeProfile(p, 30))}`);
    }
  }
  return { rows, lodgeCommand: lodge.command, podBytes: Buffer.byteLength(JSON.stringify(podManifest('h1-12345', 'bench-h1', 5))), details, profiles };
}

// ---- reporting -----------------------------------------------------------

function fmtValue(r: Row): string {
  if (r.unit === 'ms') return `${r.value.toFixed(r.value < 10 ? 2 : 1)} ms`;
  return `${Math.round(r.value).toLocaleString('en-US')} ${r.unit}`;
}

function verdict(r: Row): { target: string; result: string; ratio: string } {
  if (r.target === undefined) return { target: '', result: 'info', ratio: '' };
  const floor = r.unit !== 'ms';
  const pass = floor ? r.value >= r.target : r.value < r.target;
  const target = floor ? `≥ ${r.target.toLocaleString('en-US')} ${r.unit}` : `< ${r.target} ms`;
  // How far from the target: for a rate, value/target; for a time, target/value (both > 1 is headroom).
  const ratio = floor ? `${(r.value / r.target).toFixed(2)}× target` : `${(r.target / r.value).toFixed(2)}× headroom`;
  return { target, result: pass ? 'PASS' : 'MISS', ratio };
}

export function formatTable(rows: Row[], markdown: boolean): string {
  const head = ['figure', 'value', 'target', 'result', 'ratio'];
  const body = rows.map((r) => {
    const v = verdict(r);
    return [r.figure, fmtValue(r), v.target, v.result, [v.ratio, r.note].filter(Boolean).join('; ')];
  });
  if (markdown) {
    return [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 1 ? '---:' : '---')).join('|')}|`, ...body.map((b) => `| ${b.join(' | ')} |`)].join('\n');
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 1 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

export function resultsSection(res: ApiBenchResult, command: string, o: ApiBenchOptions): string {
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return [
    `Date: ${date}`,
    '',
    `Command: \`${command}\``,
    '',
    `Machine: ${describeMachine(machineInfo())}`,
    '',
    `Server: \`${res.lodgeCommand}\` (a child process in a temporary data dir on the same file system as the raw SQLite figure;` +
      ' compaction pushed out of the run), driven over HTTPS on loopback with the admin bearer token by one Node client process on the same machine.',
    '',
    `Workload: a ${res.podBytes}-byte Pod manifest (labels, annotations, one container with ports, env, resources, probe, volume mount); ` +
      `${o.concurrency} concurrent clients, each with its own keep-alive connection (undici Client; HTTP/2 through \`allowH2\`, ALPN checked).`,
    'Reading: rates and percentiles depend on whatever else the machine runs (see the load average below); the server CPU time per' +
      ' operation (from /proc, user + system) depends much less on it, and 1 s divided by it bounds what one server process can do.',
    '',
    formatTable(res.rows, true),
    '',
    ...res.details.map((d) => `- ${d}`),
  ].join('\n');
}

// ---- command line --------------------------------------------------------

export function parseApiArgs(argv: string[], log: (l: string) => void): { opts: ApiBenchOptions; write: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      count: { type: 'string' },
      warmup: { type: 'string' },
      'list-size': { type: 'string' },
      gets: { type: 'string' },
      watchers: { type: 'string' },
      'watch-events': { type: 'string' },
      'watch-rate': { type: 'string' },
      phases: { type: 'string' },
      'cpu-prof': { type: 'string' },
      'no-write': { type: 'boolean' },
    },
    strict: true,
  });
  const num = (v: string | undefined, d: number, what: string): number => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${what} must be a positive integer`);
    return n;
  };
  const phases = new Set<Phase>();
  for (const p of (values.phases ?? ALL_PHASES.join(',')).split(',')) {
    if (!ALL_PHASES.includes(p as Phase)) throw new Error(`--phases: unknown phase ${JSON.stringify(p)} (${ALL_PHASES.join(', ')})`);
    phases.add(p as Phase);
  }
  const listSize = num(values['list-size'], DEFAULTS.listSize, 'list-size');
  if (listSize % 10) throw new Error('--list-size must be a multiple of 10');
  return {
    write: !values['no-write'],
    opts: {
      ...DEFAULTS,
      count: num(values.count, DEFAULTS.count, 'count'),
      warmup: num(values.warmup, DEFAULTS.warmup, 'warmup'),
      listSize,
      gets: num(values.gets, DEFAULTS.gets, 'gets'),
      watchers: num(values.watchers, DEFAULTS.watchers, 'watchers'),
      watchEvents: num(values['watch-events'], DEFAULTS.watchEvents, 'watch-events'),
      watchRate: num(values['watch-rate'], DEFAULTS.watchRate, 'watch-rate'),
      phases,
      cpuProfDir: values['cpu-prof'] ? resolve(values['cpu-prof']) : undefined,
      log,
    },
  };
}

/** Run, print the table, refresh RESULTS.md (unless told not to or only some phases ran). */
export async function apiMain(argv: string[], command: string): Promise<void> {
  const log = (l: string): void => void process.stderr.write(`bench: ${l}\n`);
  const { opts, write } = parseApiArgs(argv, log);
  const res = await runApiBench(opts);
  process.stdout.write(`\nLodge API server — ${describeMachine(machineInfo())}\n\n${formatTable(res.rows, false)}\n`);
  for (const p of res.profiles) process.stdout.write(`\nCPU profile of lodge up: ${p}\n`);
  const complete = ALL_PHASES.every((p) => opts.phases.has(p));
  if (write && complete && !opts.cpuProfDir) {
    writeSection(RESULTS_MD, SECTION, resultsSection(res, command, opts));
    process.stdout.write(`\nwrote ${relative(process.cwd(), RESULTS_MD) || RESULTS_MD}\n`);
  }
}

export function commandLine(): string {
  const script = relative(ROOT, process.argv[1] ?? '');
  return process.env.npm_lifecycle_event === 'bench' ? 'npm run bench' : ['node', script, ...process.argv.slice(2)].join(' ');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  apiMain(process.argv.slice(2), commandLine()).catch((e: Error) => {
    process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
    process.exit(1);
  });
}
