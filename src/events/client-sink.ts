// Events from the node agent: written through its KubeClient, over the same
// REST API kubectl uses.
import type { CoreEvent } from '../apis/core/v1/types.js';
import type { KubeClient } from '../client/client.js';
import { EVENTS } from '../client/refs.js';
import type { EventPatch, EventSink } from './event-sink.js';
import { eventRecorder, type EventRecorder, type RecorderOptions } from './recorder.js';

class ClientEventSink implements EventSink {
  constructor(
    private readonly client: KubeClient,
    private readonly manager: string,
  ) {}

  async create(namespace: string, event: CoreEvent): Promise<void> {
    await this.client.create(EVENTS, event, { namespace, fieldManager: this.manager });
  }

  async patch(namespace: string, name: string, patch: EventPatch): Promise<void> {
    await this.client.patch(EVENTS, name, patch, 'application/merge-patch+json', { namespace, fieldManager: this.manager });
  }
}

/** The agent's recorder: source {component: "kubelet", host: the node name}, as Kubernetes' kubelet reports. */
export function clientEventRecorder(client: KubeClient, o: RecorderOptions): EventRecorder {
  return eventRecorder(new ClientEventSink(client, o.component), o);
}
