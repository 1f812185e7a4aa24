// Reports what happened to an object as core/v1 Events, the way client-go's
// event recorder does, for `kubectl get events` and `kubectl describe`.
//
// Fire-and-forget: event() never throws and never waits; the write happens
// later on a few background workers. A repeat of the same occurrence within
// ten minutes bumps count and lastTimestamp of the Event already written (a
// merge patch; a new Event if that one was deleted meanwhile), and repeats
// that arrive while a write is pending are folded into it. A per-object
// token bucket (spam-filter.ts) and a bound on pending writes keep a storm —
// thousands of Pods created at once — from swamping the API: what does not
// fit is dropped (events are best effort in Kubernetes too).
import type { CoreEvent } from '../apis/core/v1/types.js';
import type { KubeObject } from '../apis/types.js';
import { rfc3339 } from '../api/resources/clock.js';
import type { Logger } from '../util/log.js';
import { aggregationKey, eventName, newEvent, spamKey, type EventSource, type EventType } from './event-object.js';
import { errorCode, type EventSink } from './event-sink.js';
import { DEFAULT_SPAM_FILTER, SpamFilter, type SpamFilterOptions } from './spam-filter.js';

export interface EventRecorder {
  /** fieldPath: the part of the object, e.g. spec.containers{web} for one container of a Pod. */
  event(object: KubeObject, type: EventType, reason: string, message: string, opts?: { fieldPath?: string }): void;
  /** Resolves once every accepted event has been written (or has failed). */
  flush(): Promise<void>;
}

export interface RecorderOptions extends EventSource {
  log: Logger;
  /** On abort the recorder takes no more events; pending writes still finish (await flush()). */
  signal: AbortSignal;
  /** Clock (ms since the epoch); tests move it. */
  now?: () => number;
  /** Writes at once (default 4). */
  workers?: number;
  /** Most writes waiting; more are dropped with one warning (default 1000). */
  maxPending?: number;
  /** A repeat this long after the last occurrence starts a new Event (default 10 minutes). */
  aggregateWindowMs?: number;
  spamFilter?: SpamFilterOptions;
}

/** One Event as the recorder knows it: what it wants written, and where its writes stand. */
interface Series {
  event: CoreEvent;
  lastMs: number;
  /** An Event of this name exists in the API (as far as this recorder knows). */
  stored: boolean;
  queued: boolean;
  writing: boolean;
  /** Changed while being written: write again afterwards. */
  dirty: boolean;
}

/** Series kept for aggregation, least recently used dropped first (client-go: 4096). */
const MAX_SERIES = 4096;

class QueuedRecorder implements EventRecorder {
  private readonly series = new Map<string, Series>();
  private readonly pending: Series[] = [];
  private readonly spam: SpamFilter;
  private readonly now: () => number;
  private readonly workers: number;
  private readonly maxPending: number;
  private readonly windowMs: number;
  private readonly log: Logger;
  private active = 0;
  private stopped = false;
  private warnedFull = false;
  private idle: Array<() => void> = [];

  constructor(
    private readonly sink: EventSink,
    private readonly o: RecorderOptions,
  ) {
    this.spam = new SpamFilter(o.spamFilter ?? DEFAULT_SPAM_FILTER);
    this.now = o.now ?? Date.now;
    this.workers = o.workers ?? 4;
    this.maxPending = o.maxPending ?? 1000;
    this.windowMs = o.aggregateWindowMs ?? 10 * 60_000;
    this.log = o.log.child({ component: 'events', reporter: o.component });
    if (o.signal.aborted) this.stopped = true;
    else o.signal.addEventListener('abort', () => (this.stopped = true), { once: true });
  }

  event(object: KubeObject, type: EventType, reason: string, message: string, opts: { fieldPath?: string } = {}): void {
    if (this.stopped) return;
    try {
      const ms = this.now();
      const fresh = newEvent({ object, type, reason, message, fieldPath: opts.fieldPath }, this.o, ms);
      if (!this.spam.allow(spamKey(fresh), ms)) return;
      const key = aggregationKey(fresh);
      let s = this.series.get(key);
      if (s) this.series.delete(key);
      if (s && ms - s.lastMs <= this.windowMs) {
        s.event.count = (s.event.count ?? 1) + 1;
        s.event.lastTimestamp = rfc3339(ms);
        s.lastMs = ms;
      } else {
        s = { event: fresh, lastMs: ms, stored: false, queued: false, writing: false, dirty: false };
      }
      this.series.set(key, s);
      // A series dropped here may still be queued or being written: the queue holds it, not this map.
      if (this.series.size > MAX_SERIES) this.series.delete(this.series.keys().next().value as string);
      this.schedule(s);
    } catch (e) {
      // A bug here must not break the caller's reconcile.
      this.log.warn('event not recorded', { reason, error: (e as Error).message });
    }
  }

  flush(): Promise<void> {
    if (this.active === 0 && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private schedule(s: Series): void {
    if (s.queued) return; // the write waiting carries this occurrence too
    if (s.writing) {
      s.dirty = true;
      return;
    }
    if (this.pending.length >= this.maxPending) {
      // The occurrence stays counted in memory: a later repeat writes it, if there is one.
      if (!this.warnedFull) this.log.warn('too many events pending; dropping events until the queue drains', { pending: this.pending.length });
      this.warnedFull = true;
      return;
    }
    this.enqueue(s);
  }

  private enqueue(s: Series): void {
    s.queued = true;
    this.pending.push(s);
    if (this.active < this.workers) {
      this.active++;
      void this.work();
    }
  }

  private async work(): Promise<void> {
    for (let s = this.pending.shift(); s; s = this.pending.shift()) {
      s.queued = false;
      s.writing = true;
      try {
        await this.write(s);
      } catch (e) {
        this.logFailure(s, e);
      } finally {
        s.writing = false;
        if (s.dirty) {
          s.dirty = false;
          this.enqueue(s);
        }
      }
    }
    this.active--;
    if (this.active === 0 && this.pending.length === 0) {
      this.warnedFull = false;
      const waiting = this.idle;
      this.idle = [];
      for (const resolve of waiting) resolve();
    }
  }

  private async write(s: Series): Promise<void> {
    const e = s.event;
    const ns = String(e.metadata.namespace);
    if (s.stored) {
      try {
        await this.sink.patch(ns, String(e.metadata.name), { count: e.count ?? 1, lastTimestamp: String(e.lastTimestamp) });
        return;
      } catch (err) {
        if (errorCode(err) !== 404) throw err;
        // Deleted meanwhile (by hand, or its TTL): the occurrence goes into a new Event.
        s.stored = false;
        e.metadata = { name: eventName(String(e.involvedObject?.name), this.now()), namespace: ns };
      }
    }
    await this.sink.create(ns, structuredClone(e));
    s.stored = true;
  }

  private logFailure(s: Series, e: unknown): void {
    const fields = { event: s.event.metadata.name, namespace: s.event.metadata.namespace, reason: s.event.reason, error: (e as Error).message };
    // A namespace being deleted refuses new Events (403), a deleted one is gone (404): expected while its Pods are stopped.
    const code = errorCode(e);
    if (code === 403 || code === 404) this.log.info('event not written', fields);
    else this.log.warn('event not written', fields);
  }
}

/** A recorder writing through sink; see the factories serviceEventRecorder and clientEventRecorder. */
export function eventRecorder(sink: EventSink, o: RecorderOptions): EventRecorder {
  return new QueuedRecorder(sink, o);
}

/** A recorder that drops everything: for components started without one (tests, tools). */
export const noEvents: EventRecorder = { event: () => undefined, flush: () => Promise.resolve() };
