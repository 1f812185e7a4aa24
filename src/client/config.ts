// How to reach and authenticate to an API server: what a kubeconfig context
// boils down to once files are read and base64 decoded.
export interface ClientConfig {
  /** Base URL, e.g. https://127.0.0.1:6443. */
  server: string;
  /** PEM bundle of CAs trusted for the server; absent = system roots. */
  caPem?: string;
  /** Bearer token. */
  token?: string;
  /** Client certificate and key (PEM) for mutual TLS. */
  clientCertPem?: string;
  clientKeyPem?: string;
  /** Skip server certificate verification (kubeconfig insecure-skip-tls-verify). */
  insecureSkipTlsVerify?: boolean;
  /** SNI / verification name when it differs from the URL host (tls-server-name). */
  tlsServerName?: string;
  /** Default namespace of the context, if it names one. */
  namespace?: string;
  /** Default timeout for non-watch requests, ms; 0 or absent = none. */
  timeoutMs?: number;
  /** Where this came from, for error messages. */
  source?: string;
  contextName?: string;
}
