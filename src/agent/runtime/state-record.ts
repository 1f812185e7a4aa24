// A driver's per-workload record (what create was asked for), read back by a
// driver that may be a new process: absent means no such workload; present
// but unreadable is an error naming the file.
import { readText } from '../drivers/container/proc.js';

export async function readStateRecord<T>(path: string, what: string): Promise<T | undefined> {
  const text = await readText(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`unreadable ${what} record ${path}: ${(e as Error).message}`);
  }
}
