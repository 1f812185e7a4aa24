// Checking certificates with node:crypto, and turning a verified client
// certificate into an identity the way Kubernetes does: CN is the user name,
// each O is a group (so "O=system:masters" makes an administrator).
//
// For live connections the server does not need verifyClientCert: start the
// https server with `{ ca: caPem, requestCert: true, rejectUnauthorized: false }`
// and node's TLS layer verifies the chain during the handshake. A client that
// sent no certificate, or one the CA did not sign, still connects (it may
// carry a bearer token instead) but has `socket.authorized === false`;
// identityFromSocket() reads the identity only from authorized sockets.
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { SanSet } from './hosts.js';

export interface CertIdentity {
  user: string;
  groups: string[];
}

const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

/** Parse node's multi-line subject ("CN=admin\nO=system:masters") into an identity. */
function identityFromSubject(subject: string): CertIdentity | null {
  let user = '';
  const groups: string[] = [];
  for (const line of subject.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'CN') user = value;
    else if (key === 'O') groups.push(value);
  }
  return user ? { user, groups } : null;
}

/** True while `cert` is within its validity window (optionally with margin left). */
export function isCurrent(cert: X509Certificate, now = Date.now(), marginMs = 0): boolean {
  return Date.parse(cert.validFrom) <= now && now + marginMs < Date.parse(cert.validTo);
}

/** Whether `ca` signed `cert`. */
export function signedBy(cert: X509Certificate, ca: X509Certificate): boolean {
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

/**
 * Verify a client certificate (PEM) against the CA: signature, validity and
 * the clientAuth usage. Returns the identity it asserts, or null.
 */
export function verifyClientCert(certPem: string, caPem: string, now = Date.now()): CertIdentity | null {
  let cert: X509Certificate;
  let ca: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
    ca = new X509Certificate(caPem);
  } catch {
    return null;
  }
  if (!signedBy(cert, ca) || !isCurrent(cert, now)) return null;
  // node lists extended key usages in `keyUsage`; absent means unrestricted.
  if (cert.keyUsage && !cert.keyUsage.includes(CLIENT_AUTH_OID)) return null;
  return identityFromSubject(cert.subject);
}

/** The identity of a TLS peer whose certificate node already verified against `ca`. */
export function identityFromSocket(socket: TLSSocket): CertIdentity | null {
  if (!socket.authorized) return null;
  const peer = socket.getPeerCertificate();
  if (!peer || !peer.subject) return null;
  // With several O attributes node gives an array, with one a string.
  const subject = peer.subject as unknown as Record<string, string | string[] | undefined>;
  const cn = subject.CN;
  const user = Array.isArray(cn) ? cn[0] : cn;
  if (!user) return null;
  const o = subject.O;
  return { user, groups: o === undefined ? [] : Array.isArray(o) ? o : [o] };
}

/** Whether a server certificate is valid for every name and address in `sans`. */
export function coversSans(cert: X509Certificate, sans: SanSet): boolean {
  // checkIP compares addresses, not strings: "::1" matches "0:0:0:0:0:0:0:1".
  return sans.ips.every((ip) => cert.checkIP(ip) !== undefined) && sans.dns.every((name) => cert.checkHost(name, { subject: 'never' }) !== undefined);
}
