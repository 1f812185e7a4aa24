// Kubernetes' remote command protocol (pods/exec and pods/attach) over
// WebSocket: each binary message starts with its channel byte. Shared by the
// API server's exec handler and `lodge exec`.
export const REMOTECOMMAND_CHANNEL = {
  stdin: 0,
  stdout: 1,
  stderr: 2,
  /** v4+: a Status JSON when the process ends (Success, or NonZeroExitCode with the code). */
  error: 3,
  /** {"Width": cols, "Height": rows} */
  resize: 4,
  /** v5: the peer closed the stream named in the payload's byte. */
  close: 255,
} as const;
