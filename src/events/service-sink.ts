// Events from the controllers in the control-plane process: written through
// the in-process ResourceService, as any controller write (admission,
// validation, managedFields), with the reporting component as field manager.
import type { CoreEvent } from '../apis/core/v1/types.js';
import type { ResourceType } from '../apis/types.js';
import type { ResourceService, WriteContext } from '../api/resources/resource-service.js';
import { controllerWrite } from '../controllers/runtime/informer-factory.js';
import type { EventPatch, EventSink } from './event-sink.js';
import { eventRecorder, noEvents, type EventRecorder, type RecorderOptions } from './recorder.js';

class ServiceEventSink implements EventSink {
  constructor(
    private readonly svc: ResourceService,
    private readonly eventType: ResourceType,
    private readonly manager: string,
  ) {}

  /** A fresh context per write: the service appends warnings to it. */
  private ctx(): WriteContext {
    return controllerWrite(this.manager);
  }

  async create(namespace: string, event: CoreEvent): Promise<void> {
    await this.svc.create(this.eventType, namespace, event, this.ctx());
  }

  async patch(namespace: string, name: string, patch: EventPatch): Promise<void> {
    await this.svc.patch(this.eventType, namespace, name, 'merge', patch, { ...this.ctx(), force: false });
  }
}

/** The recorder of a controller: source.component is its name (e.g. "replicaset-controller"). */
export function serviceEventRecorder(svc: ResourceService, o: RecorderOptions): EventRecorder {
  const eventType = svc.registry.resource('', 'v1', 'events');
  if (!eventType) return noEvents;
  return eventRecorder(new ServiceEventSink(svc, eventType, o.component), o);
}
