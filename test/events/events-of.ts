// The Events about one object (by involvedObject.uid), straight from the
// resource service: for controller tests checking what was reported.
import type { ResourceService } from '../../src/api/resources/resource-service.js';
import type { CoreEvent } from '../../src/apis/core/v1/types.js';

export async function eventsOf(svc: ResourceService, uid: string | undefined): Promise<CoreEvent[]> {
  const rt = svc.registry.resource('', 'v1', 'events')!;
  const page = await svc.list(rt, undefined, { match: (o) => (o as CoreEvent).involvedObject?.uid === uid });
  return page.items.map((i) => i.obj as CoreEvent);
}

/** "Type Reason: message" lines, easy to compare and to print in a failed assertion. */
export async function eventLines(svc: ResourceService, uid: string | undefined): Promise<string[]> {
  return (await eventsOf(svc, uid)).map((e) => `${e.type} ${e.reason}: ${e.message}`);
}
