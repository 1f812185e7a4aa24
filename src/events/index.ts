// Events (core/v1) reported by controllers and the node agent.
export type { EventRecorder, RecorderOptions } from './recorder.js';
export { eventRecorder, noEvents } from './recorder.js';
export type { EventType, EventSource } from './event-object.js';
export { serviceEventRecorder } from './service-sink.js';
export { clientEventRecorder } from './client-sink.js';
