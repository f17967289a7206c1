import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface TestCerts {
  /** PEM of the test CA; `caFile` holds the same text, for UPSTREAM_CA_FILE. */
  ca: string;
  caFile: string;
  /** Server certificate for localhost / 127.0.0.1 / ::1, signed by the CA. */
  cert: string;
  key: string;
}

let cached: Promise<TestCerts> | undefined;

/** A private CA and a loopback server certificate, generated at test time (never committed). */
export function testCerts(): Promise<TestCerts> {
  cached ??= (async () => {
    const now = new Date();
    const notAfterDate = new Date(now.getTime() + 24 * 3600 * 1000);
    const ca = await generate([{ name: 'commonName', value: 'Gatehouse Test CA' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notAfterDate,
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    });
    const server = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notAfterDate,
      ca: { key: ca.private, cert: ca.cert },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 2, value: 'api.localhost' },
            { type: 7, ip: '127.0.0.1' },
            { type: 7, ip: '::1' },
          ],
        },
      ],
    });
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-certs-'));
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, ca.cert);
    return { ca: ca.cert, caFile, cert: server.cert, key: server.private };
  })();
  return cached;
}
