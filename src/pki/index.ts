// Lodge's PKI: CA, API server and admin certificates, admin token.
export { ensurePki, pkiPaths, type Pki, type PkiPaths } from './ensure.js';
export { verifyClientCert, identityFromSocket, coversSans, signedBy, isCurrent, type CertIdentity } from './verify.js';
export { serverSans, normalizeHost, type SanSet } from './hosts.js';
export { writeFileAtomic, type AtomicWriteOptions } from './atomic-write.js';
