import { describe, expect, it } from 'vitest';
import { describeNetworkError, networkErrorKind } from '../../src/upstream/client.js';

/** Network failures are named by what went wrong; certificate verification failures are TLS failures whatever their code says. */
describe('describeNetworkError / networkErrorKind', () => {
  const err = (code: string) => Object.assign(new Error(code), { code }) as NodeJS.ErrnoException;

  it('an incomplete certificate chain (UNABLE_TO_VERIFY_LEAF_SIGNATURE) and other verification codes without CERT in their name are TLS failures', () => {
    for (const code of ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'HOSTNAME_MISMATCH', 'INVALID_CA', 'CRL_HAS_EXPIRED']) {
      expect(describeNetworkError(err(code))).toBe(`TLS handshake failed (${code})`);
      expect(networkErrorKind(err(code))).toBe('tls');
    }
  });

  it('keeps naming the rest as before', () => {
    expect(describeNetworkError(err('CERT_HAS_EXPIRED'))).toBe('TLS handshake failed (CERT_HAS_EXPIRED)');
    expect(describeNetworkError(err('DEPTH_ZERO_SELF_SIGNED_CERT'))).toBe('TLS handshake failed (DEPTH_ZERO_SELF_SIGNED_CERT)');
    expect(describeNetworkError(err('ERR_TLS_CERT_ALTNAME_INVALID'))).toBe('TLS handshake failed (ERR_TLS_CERT_ALTNAME_INVALID)');
    expect(describeNetworkError(err('ECONNREFUSED'))).toBe('Connection refused');
    expect(networkErrorKind(err('ECONNREFUSED'))).toBe('refused');
    expect(describeNetworkError(err('EPIPE'))).toBe('Network error (EPIPE)');
    expect(networkErrorKind(err('EPIPE'))).toBe('unreachable');
  });
});
