// Reading an Instance's console log (<instances>/<uid>/console.log), kept
// across boots and after a stop until the Instance is deleted. A VM's is
// QEMU's chardev log, the serial output as the guest wrote it: served raw.
// A system container's is conmon's CRI log of its terminal: served as the
// message of each line, without the terminal's \r, so it reads like the
// VM's. Following polls the file for growth and ends when the instance's
// directory is removed (it was deleted) or the signal aborts.
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CriParser, type LogLine } from '../logs/cri.js';
import { ConsoleUnavailableError, type ConsoleLogOptions } from './node-console.js';
import { readFrom } from '../logs/read-from.js';

const POLL_MS = 150;

const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false,
  );

/** Turns the bytes of a log into text, one way per instance type. */
interface Decoder {
  push(data: Buffer): string[];
  /** What is left at the end of a read that does not follow (a prompt without its line end). */
  flush(): string[];
}

function criDecoder(): Decoder {
  const parser = new CriParser();
  const line = (l: LogLine): string => `${l.message.replace(/\r$/, '')}\n`;
  return {
    push: (data) => parser.push(data).map(line),
    // An unfinished line (a prompt) has no line end of its own.
    flush: () => parser.flush().map((l) => l.message.replace(/\r$/, '')),
  };
}

function rawDecoder(): Decoder {
  let rest = '';
  const decoder = new TextDecoder('utf-8');
  return {
    // Whole lines, so tailLines can count them; the rest waits for its line end.
    push: (data) => {
      const text = rest + decoder.decode(data, { stream: true });
      const nl = text.lastIndexOf('\n');
      rest = text.slice(nl + 1);
      return nl < 0 ? [] : text.slice(0, nl + 1).split(/(?<=\n)/);
    },
    flush: () => {
      const out = rest + decoder.decode();
      rest = '';
      return out ? [out] : [];
    },
  };
}

/** Open a console log; rejects with ConsoleUnavailableError when there is none and the caller does not follow. */
export async function openConsoleLog(file: string, type: 'container' | 'vm', o: ConsoleLogOptions): Promise<AsyncIterable<string>> {
  if (!o.follow && !(await exists(file))) throw new ConsoleUnavailableError('instance', 'the instance has no console log on this node (not started yet, or deleted)');
  return read(file, type === 'vm' ? rawDecoder() : criDecoder(), o);
}

async function* read(file: string, decoder: Decoder, o: ConsoleLogOptions): AsyncGenerator<string> {
  let pos = 0;
  let tailed = false;
  while (!o.signal.aborted) {
    const data = await readFrom(file, pos);
    if (data === undefined) {
      // Not written yet, or removed with the instance: wait for the first, end on the second.
      if (!(await exists(dirname(file))) || !o.follow) return;
      await sleep(POLL_MS, undefined, { signal: o.signal }).catch(() => undefined);
      continue;
    }
    pos += data.length;
    let lines = decoder.push(data);
    if (!o.follow) lines = lines.concat(decoder.flush());
    if (!tailed) {
      tailed = true;
      if (o.tailLines !== undefined) lines = o.tailLines === 0 ? [] : lines.slice(-o.tailLines);
    }
    if (lines.length) yield lines.join('');
    if (!o.follow) return;
    if (data.length > 0) continue;
    await sleep(POLL_MS, undefined, { signal: o.signal }).catch(() => undefined);
  }
}
