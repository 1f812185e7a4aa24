// Where an EventRecorder writes its Events: the in-process ResourceService
// (controllers) or a KubeClient (the node agent). Two calls are all a
// recorder needs — create a new Event, or merge-patch the count and time of
// one it made earlier — so the recorder does not care which side it is on.
import type { CoreEvent } from '../apis/core/v1/types.js';

/** What a repeat changes on an existing Event (a JSON merge patch). */
export interface EventPatch {
  count: number;
  lastTimestamp: string;
}

export interface EventSink {
  create(namespace: string, event: CoreEvent): Promise<void>;
  /** Rejects with an error whose `code` is 404 when the Event is gone (deleted, or expired by its TTL). */
  patch(namespace: string, name: string, patch: EventPatch): Promise<void>;
}

/** The HTTP code of an API failure (both the server's and the client's ApiError carry one). */
export function errorCode(e: unknown): number | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}
