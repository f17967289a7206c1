import type { Cidr } from '../config.js';
import { isAllowedAddress, isLocalhostName } from './address-policy.js';

/**
 * The address guard (docs/design.md#address-guard) at run time: the address a connection is actually made to must be public unless an
 * operator allowed its range with UPSTREAM_ALLOW_CIDRS. Checked on every resolved address (DNS
 * answers and IP literals), so a name that resolves to loopback is caught just like `127.1`. The
 * classification is the save-time one (`address-policy.ts`, docs/design.md#address-guard), so both always agree.
 */

export { isLocalhostName };

export class BlockedDestinationError extends Error {
  readonly code = 'BLOCKED_DESTINATION';
  constructor(message: string) {
    super(message);
    this.name = 'BlockedDestinationError';
  }
}

export interface AddressGuard {
  /** Throws BlockedDestinationError when `ip` may not be connected to. */
  check(ip: string, host: string): void;
  allowed(ip: string): boolean;
}

export function createAddressGuard(allowCidrs: Cidr[]): AddressGuard {
  const allowed = (ip: string): boolean => ip !== '' && isAllowedAddress(ip, allowCidrs);
  return {
    allowed,
    check(ip, host) {
      if (!allowed(ip)) {
        const shown = host === ip || ip === '' ? host : `${host} (${ip})`;
        throw new BlockedDestinationError(
          `the upstream ${shown} is a loopback, private, link-local or reserved address; allow its range with UPSTREAM_ALLOW_CIDRS if this is intended`,
        );
      }
    },
  };
}
