// This node's container logs, read from the CRI files conmon writes under
// <pods>/<uid>/logs/<container>/<restartCount>.log. Following polls the file
// for growth, moves on to the next run's file after a restart, and ends when
// the Pod's directory is removed (the Pod is gone) or the signal aborts.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CriParser, criTimeMs, rfc3339NanoUtc, type LogLine } from './cri.js';
import { LogUnavailableError, type LogOptions, type NodeLogs } from './node-logs.js';
import { readFrom } from './read-from.js';

const POLL_MS = 150;
const isMissing = (e: unknown): boolean => (e as NodeJS.ErrnoException).code === 'ENOENT';

/** The run numbers with a log file, ascending; undefined when the directory is gone. */
async function runs(dir: string): Promise<number[] | undefined> {
  try {
    return (await readdir(dir))
      .map((f) => /^(\d+)\.log$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

export class FileNodeLogs implements NodeLogs {
  constructor(private readonly podsDir: string) {}

  async open(_nodeName: string, podUid: string, container: string, o: LogOptions): Promise<AsyncIterable<string>> {
    const dir = join(this.podsDir, podUid, 'logs', container);
    const have = (await runs(dir)) ?? [];
    if (o.previous) {
      if (have.length < 2) throw new LogUnavailableError('previous', 'no previous run');
      // A previous run's file is complete: nothing to follow.
      return read(dir, have[have.length - 2], { ...o, follow: false });
    }
    const current = have.at(-1);
    if (current === undefined && !o.follow) throw new LogUnavailableError('waiting', 'no log yet');
    return read(dir, current, o);
  }
}

async function* read(dir: string, first: number | undefined, o: LogOptions): AsyncGenerator<string> {
  const since = o.sinceSeconds !== undefined ? Date.now() - o.sinceSeconds * 1000 : undefined;
  let budget = o.limitBytes ?? Infinity;
  let run = first;
  let pos = 0;
  let tailed = false;
  let sawPod = false;
  let parser = new CriParser();
  const format = (l: LogLine): string | undefined => {
    if (since !== undefined && criTimeMs(l.time) < since) return undefined;
    return `${o.timestamps ? `${rfc3339NanoUtc(l.time)} ` : ''}${l.message}\n`;
  };
  while (!o.signal.aborted) {
    if (run === undefined) {
      run = (await runs(dir))?.at(-1);
      if (run === undefined) {
        // Not started yet: wait, unless the Pod's directory was there and is gone.
        const podThere = (await runs(join(dir, '..', '..'))) !== undefined;
        if (sawPod && !podThere) return;
        sawPod ||= podThere;
        await sleep(POLL_MS, undefined, { signal: o.signal }).catch(() => undefined);
        continue;
      }
    }
    const data = await readFrom(join(dir, `${run}.log`), pos);
    if (data === undefined) return; // removed with its Pod
    pos += data.length;
    let lines = parser.push(data);
    if (!o.follow) lines = lines.concat(parser.flush());
    if (!tailed) {
      tailed = true;
      if (o.tailLines !== undefined) lines = o.tailLines === 0 ? [] : lines.slice(-o.tailLines);
    }
    let text = '';
    for (const l of lines) text += format(l) ?? '';
    if (text) {
      const bytes = Buffer.byteLength(text);
      if (bytes >= budget) {
        yield Buffer.from(text).subarray(0, budget).toString('utf8');
        return;
      }
      budget -= bytes;
      yield text;
    }
    if (!o.follow) return;
    if (data.length > 0) continue;
    const have = await runs(dir);
    if (have === undefined) return;
    const next = have.find((r) => r > run!);
    if (next !== undefined) {
      // Drained this run (it has ended: a newer one exists): go on with the next.
      const rest = await readFrom(join(dir, `${run}.log`), pos);
      if (rest && rest.length > 0) continue;
      for (const l of parser.flush()) {
        const t = format(l);
        if (t) yield t;
      }
      run = next;
      pos = 0;
      parser = new CriParser();
      continue;
    }
    await sleep(POLL_MS, undefined, { signal: o.signal }).catch(() => undefined);
  }
}
