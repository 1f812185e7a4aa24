// The guest agent channel of a VM (QGA over virtio-serial): client, shared sessions and exec.
export { GuestAgentClient, GuestAgentClosedError, GuestAgentError, GuestAgentUnavailableError, type GuestAgentConnectOptions } from './client.js';
export { GuestAgentSessions, type GuestAgentLease } from './sessions.js';
export { guestArgv, guestExec, mergeEnv, MAX_STDIN_BYTES, type GuestExecRequest } from './exec.js';
