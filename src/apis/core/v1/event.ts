// Event (core/v1): a report of something that happened to an object.
import { column, humanDuration } from '../../columns.js';
import { int32, obj, str, time, type Schema } from '../../schema.js';
import type { FieldError, KubeObject, ResourceType } from '../../types.js';
import { kindDefinition } from '../../meta/v1.js';
import { invalid } from './field-errors.js';
import { core, coreGVK, coreRef } from './names.js';
import type { CoreEvent } from './types.js';

export const eventDefinitions: Record<string, Schema> = {
  [core('EventSource')]: obj(
    { component: str('Component that reported the event.'), host: str('Node the event came from.') },
    { description: 'Who reported an event.' },
  ),
  [core('EventSeries')]: obj(
    { count: int32('Occurrences in the series so far.'), lastObservedTime: time('When the last occurrence was seen.') },
    { description: 'A series of repeated occurrences of an event.' },
  ),
  [core('Event')]: kindDefinition(
    coreGVK('Event'),
    'Something that happened to an object, reported for people and tools to see.',
    {
      involvedObject: coreRef('ObjectReference', 'The object the event is about.'),
      reason: str('Short CamelCase reason, e.g. Scheduled, Pulled, BackOff.'),
      message: str('Human-readable description.'),
      source: coreRef('EventSource', 'Who reported it (the older way; see reportingComponent).'),
      firstTimestamp: time('When the event was first seen.'),
      lastTimestamp: time('When it was most recently seen.'),
      count: int32('How many times it has occurred.'),
      type: str('Normal or Warning.'),
      eventTime: time('When the event first happened, with microseconds.'),
      series: coreRef('EventSeries', 'Repetition data, for events reported as a series.'),
      action: str('What was done, or failed, e.g. Binding.'),
      related: coreRef('ObjectReference', 'A secondary object involved.'),
      reportingComponent: str('Controller that reported the event, e.g. lodge.dev/scheduler.'),
      reportingInstance: str('Instance of that controller, e.g. its host name.'),
    },
    { required: ['metadata', 'involvedObject'] },
  ),
};

const asEvent = (o: KubeObject): CoreEvent => o as CoreEvent;

function since(t: string | undefined, now: number): string | undefined {
  if (!t) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : humanDuration(now - ms);
}

function firstSeen(e: CoreEvent, now: number): string {
  return since(e.firstTimestamp, now) ?? since(e.eventTime, now) ?? '<unknown>';
}

function lastSeen(e: CoreEvent, now: number): string {
  if (e.series) return since(e.series.lastObservedTime, now) ?? '<unknown>';
  return since(e.lastTimestamp, now) ?? firstSeen(e, now);
}

function count(e: CoreEvent): number {
  if (e.series) return e.series.count ?? 0;
  return e.count || 1;
}

const involvedObject = (e: CoreEvent): string => `${(e.involvedObject?.kind ?? '').toLowerCase()}/${e.involvedObject?.name ?? ''}`;

function source(e: CoreEvent): string {
  const component = e.source?.component || e.reportingComponent || '';
  const host = e.source?.host || e.reportingInstance || '';
  return host ? `${component}, ${host}` : component;
}

function validateEvent(e: CoreEvent): FieldError[] {
  const ns = e.metadata.namespace;
  const target = e.involvedObject?.namespace;
  if (target && ns && target !== ns) return [invalid('involvedObject.namespace', target, 'does not match event.namespace')];
  return [];
}

export const event: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  singular: 'event',
  shortNames: ['ev'],
  namespaced: true,
  definition: core('Event'),
  statusSubresource: false,
  strategicMergePatch: true,
  nameColumn: 'wide-last',
  columns: [
    column('Last Seen', 'Time since the event was last seen.', (o, now) => lastSeen(asEvent(o), now)),
    column('Type', 'Normal or Warning.', (o) => asEvent(o).type ?? ''),
    column('Reason', 'Short reason for the event.', (o) => asEvent(o).reason ?? ''),
    column('Object', 'The object the event is about.', (o) => involvedObject(asEvent(o))),
    column('Subobject', 'The part of the object, e.g. a container.', (o) => asEvent(o).involvedObject?.fieldPath ?? '', { priority: 1 }),
    column('Source', 'Who reported it.', (o) => source(asEvent(o)), { priority: 1 }),
    column('Message', 'What happened.', (o) => asEvent(o).message ?? ''),
    column('First Seen', 'Time since the event was first seen.', (o, now) => firstSeen(asEvent(o), now), { priority: 1 }),
    column('Count', 'How often it happened.', (o) => count(asEvent(o)), { type: 'integer', priority: 1 }),
  ],
  selectableFields: {
    'involvedObject.kind': (o) => asEvent(o).involvedObject?.kind ?? '',
    'involvedObject.namespace': (o) => asEvent(o).involvedObject?.namespace ?? '',
    'involvedObject.name': (o) => asEvent(o).involvedObject?.name ?? '',
    'involvedObject.uid': (o) => asEvent(o).involvedObject?.uid ?? '',
    'involvedObject.apiVersion': (o) => asEvent(o).involvedObject?.apiVersion ?? '',
    'involvedObject.resourceVersion': (o) => asEvent(o).involvedObject?.resourceVersion ?? '',
    'involvedObject.fieldPath': (o) => asEvent(o).involvedObject?.fieldPath ?? '',
    reason: (o) => asEvent(o).reason ?? '',
    reportingComponent: (o) => asEvent(o).reportingComponent ?? '',
    source: (o) => asEvent(o).source?.component ?? '',
    type: (o) => asEvent(o).type ?? '',
  },
  validate(o) {
    return validateEvent(asEvent(o));
  },
  describe(o) {
    const e = asEvent(o);
    return [
      `Involved Object:  ${involvedObject(e)}${e.involvedObject?.fieldPath ? ` (${e.involvedObject.fieldPath})` : ''}`,
      `Type:             ${e.type ?? ''}`,
      `Reason:           ${e.reason ?? ''}`,
      `Source:           ${source(e)}`,
      `Count:            ${count(e)}`,
      `Message:          ${e.message ?? ''}`,
    ];
  },
};

