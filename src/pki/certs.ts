// Certificate primitives on WebCrypto via @peculiar/x509: ECDSA P-256 keys,
// a self-signed CA and leaf certificates it signs. Keys travel as PKCS#8 PEM,
// which node:tls, kubectl and openssl all read.
// @peculiar/x509 resolves its ASN.1 parsers through tsyringe, which needs the
// Reflect metadata API: the polyfill must load before @peculiar/x509.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

// @peculiar/x509 needs a WebCrypto; Node 20 has one built in.
x509.cryptoProvider.set(globalThis.crypto);

const EC_KEY: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const EC_SIGN: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const DAY_MS = 24 * 60 * 60 * 1000;

export interface KeyAndCert {
  certPem: string;
  keyPem: string;
}

export interface LoadedCa {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

export interface LeafOptions {
  /** Subject as attribute lists, e.g. { CN: 'admin', O: ['system:masters'] }. */
  subject: { CN: string; O?: string[] };
  days: number;
  usage: 'server' | 'client';
  dns?: string[];
  ips?: string[];
}

function generateKeys(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** Random positive serial; RFC 5280 wants at most 20 octets, unique per CA. */
function serialNumber(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f; // keep the DER integer positive
  return Buffer.from(bytes).toString('hex');
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  // Backdate a little so a peer whose clock runs slightly behind accepts it.
  const now = Date.now();
  return { notBefore: new Date(now - 5 * 60 * 1000), notAfter: new Date(now + days * DAY_MS) };
}

export async function createCa(commonName: string, days: number): Promise<KeyAndCert> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${commonName}`,
    ...validity(days),
    signingAlgorithm: EC_SIGN,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

export async function loadCa(ca: KeyAndCert): Promise<LoadedCa> {
  const cert = new x509.X509Certificate(ca.certPem);
  const privateKey = await crypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.keyPem), EC_KEY, false, ['sign']);
  const publicKey = await cert.publicKey.export(EC_KEY, ['verify']);
  return { cert, keys: { privateKey, publicKey } };
}

export async function issueLeaf(ca: LoadedCa, opts: LeafOptions): Promise<KeyAndCert> {
  const keys = await generateKeys();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    // ECDSA keys sign (the TLS handshake); they never encipher keys.
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([opts.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
  ];
  const names: x509.JsonGeneralName[] = [
    ...(opts.dns ?? []).map((value): x509.JsonGeneralName => ({ type: 'dns', value })),
    ...(opts.ips ?? []).map((value): x509.JsonGeneralName => ({ type: 'ip', value })),
  ];
  if (names.length) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    // Structured rather than a DN string: values like "system:masters" need no escaping.
    subject: [{ CN: [opts.subject.CN] }, ...(opts.subject.O ?? []).map((o) => ({ O: [o] }))],
    issuer: ca.cert.subjectName, // byte-identical issuer, so chain building matches exactly
    ...validity(opts.days),
    signingAlgorithm: EC_SIGN,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions,
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}
