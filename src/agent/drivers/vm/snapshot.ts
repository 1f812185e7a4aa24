// The root disk's backing chain while QEMU runs: external snapshots (a new
// qcow2 top over the current one), the chain as QEMU has it open, and
// block-stream to drop layers. All go through QMP, never qemu-img on the
// open files: QEMU caches qcow2 metadata, and a chain changed behind its
// back corrupts the disk. The device is "root" (qemu-args.ts: -drive id=root).
import { GuestAgentError, type GuestAgentLease, type GuestAgentSessions } from './guest-agent/index.js';
import type { QmpClient, QmpEvent } from './qmp/index.js';

export const ROOT_DEVICE = 'root';

/** ImageInfo in query-block: one qcow2/raw layer and the layer below it. */
interface ImageInfo {
  filename: string;
  format: string;
  'virtual-size'?: number;
  'backing-image'?: ImageInfo;
}

interface BlockInfo {
  device: string;
  inserted?: { file: string; image: ImageInfo };
}

/** Switch the root disk to a new overlay `newTop` (QEMU creates it) whose backing file is the current top, named by its absolute path. */
export async function blockdevSnapshot(qmp: QmpClient, newTop: string): Promise<void> {
  await qmp.execute('blockdev-snapshot-sync', { device: ROOT_DEVICE, 'snapshot-file': newTop, format: 'qcow2', mode: 'absolute-paths' });
}

async function rootImage(qmp: QmpClient): Promise<ImageInfo> {
  const blocks = await qmp.execute<BlockInfo[]>('query-block');
  const root = blocks.find((b) => b.device === ROOT_DEVICE);
  if (!root?.inserted) throw new Error(`QEMU has no disk on device ${ROOT_DEVICE}`);
  return root.inserted.image;
}

/** The files of the root disk's chain as QEMU has them open, top first. */
export async function blockChain(qmp: QmpClient): Promise<string[]> {
  const out: string[] = [];
  for (let img: ImageInfo | undefined = await rootImage(qmp); img; img = img['backing-image']) out.push(img.filename);
  return out;
}

/** The root disk's virtual size in bytes (what a full stream may have to copy). */
export async function rootVirtualSize(qmp: QmpClient): Promise<number> {
  return (await rootImage(qmp))['virtual-size'] ?? 0;
}

/**
 * block-stream on the root disk and wait for its end: the data of every
 * layer above `base` (all of them when null) is copied into the top, which
 * then backs onto `base` (or nothing). The job id is unique per call so a
 * leftover job of an earlier call cannot be taken for this one. On timeout
 * the job is cancelled (the chain stays as it was: streaming is a copy, the
 * backing link changes only at the end).
 */
export async function blockStream(qmp: QmpClient, base: string | null, timeoutMs: number): Promise<void> {
  const jobId = `lodge-stream-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
  // Subscribed before the command: a small disk may be done before its reply arrives.
  const ended = qmp.waitForEvent(['BLOCK_JOB_COMPLETED', 'BLOCK_JOB_CANCELLED'], { timeoutMs, predicate: (e) => e.data.device === jobId });
  ended.catch(() => undefined);
  await qmp.execute('block-stream', { 'job-id': jobId, device: ROOT_DEVICE, ...(base !== null ? { base } : {}) });
  let e: QmpEvent;
  try {
    e = await ended;
  } catch (err) {
    await qmp.execute('block-job-cancel', { device: jobId, force: true }).catch(() => undefined);
    throw new Error(`block-stream of ${ROOT_DEVICE} (job ${jobId}): ${(err as Error).message}; job cancelled`);
  }
  if (e.event === 'BLOCK_JOB_CANCELLED') throw new Error(`block-stream of ${ROOT_DEVICE} (job ${jobId}) was cancelled (by someone else: this call did not ask)`);
  if (typeof e.data.error === 'string') throw new Error(`block-stream of ${ROOT_DEVICE} (job ${jobId}) failed: ${e.data.error}`);
}

export interface FreezeOptions {
  /** How long the guest agent may take to answer the sync (a guest that is running answers in milliseconds). */
  syncTimeoutMs: number;
  /** How long guest-fsfreeze-freeze may take (it syncs every filesystem first). */
  freezeTimeoutMs: number;
  thawTimeoutMs: number;
}

export interface Frozen {
  /** Filesystems frozen in the guest; 0 means nothing was (no agent, unsupported, or nothing to freeze). */
  count: number;
  /** Why nothing was frozen, for the log. */
  reason?: string;
  /** Thaw what was frozen; safe to call when nothing was. Never throws: a thaw that fails is logged by the caller through `onError`. */
  thaw(onError: (e: Error) => void): Promise<void>;
}

/**
 * Freeze the guest's filesystems through its agent (qemu-ga
 * guest-fsfreeze-freeze: every mounted block filesystem synced and
 * FIFREEZE'd), so a disk snapshot taken now is application-consistent
 * rather than merely crash-consistent. Best effort: no agent, no answer or
 * no fsfreeze support gives count 0, and the snapshot goes on without it.
 * A freeze whose reply did not come may still have happened in the guest,
 * so thaw is then still sent (on a fresh connection: the old one is
 * unusable after a missed reply); qemu-ga has no freeze timeout of its own,
 * and a guest left frozen would hang every write.
 */
export async function freezeGuest(sessions: GuestAgentSessions, socketPath: string, o: FreezeOptions): Promise<Frozen> {
  let lease: GuestAgentLease;
  try {
    lease = await sessions.acquire(socketPath, { timeoutMs: o.syncTimeoutMs, resyncMs: 250 });
  } catch (e) {
    return { count: 0, reason: (e as Error).message, thaw: async () => undefined };
  }
  let attempted = false;
  const thaw = async (onError: (e: Error) => void): Promise<void> => {
    try {
      if (!attempted) return;
      let l = lease;
      if (l.client.closed) {
        l.release();
        l = await sessions.acquire(socketPath, { timeoutMs: o.syncTimeoutMs, resyncMs: 250 });
        lease = l;
      }
      await l.client.execute<number>('guest-fsfreeze-thaw', undefined, { timeoutMs: o.thawTimeoutMs });
    } catch (e) {
      onError(e as Error);
    } finally {
      lease.release();
    }
  };
  try {
    attempted = true;
    const count = await lease.client.execute<number>('guest-fsfreeze-freeze', undefined, { timeoutMs: o.freezeTimeoutMs });
    return { count, ...(count > 0 ? {} : { reason: 'the guest agent froze no filesystem' }), thaw };
  } catch (e) {
    // The agent's own refusal (no fsfreeze, or a freeze that failed, which qemu-ga undoes itself) leaves nothing frozen.
    if (e instanceof GuestAgentError) attempted = false;
    return { count: 0, reason: (e as Error).message, thaw };
  }
}
