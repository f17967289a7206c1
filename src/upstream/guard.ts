import { BlockList, isIP } from 'node:net';
import type { Cidr } from '../config.js';

/**
 * Decision 11 at run time: the address a connection is actually made to must be public unless an
 * operator allowed its range with UPSTREAM_ALLOW_CIDRS. Checked on every resolved address (DNS
 * answers and IP literals), so a name that resolves to loopback is caught just like `127.1`.
 *
 * The classification mirrors engineer B's save-time policy (`address-policy.ts`); only the decision
 * "may we connect to this address?" lives here, behind `AddressGuard.check`.
 */

export class BlockedDestinationError extends Error {
  readonly code = 'BLOCKED_DESTINATION';
  constructor(message: string) {
    super(message);
    this.name = 'BlockedDestinationError';
  }
}

const V4_BLOCKED: [string, number][] = [
  ['0.0.0.0', 8], // "this network" / unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved + broadcast
];

const V6_BLOCKED: [string, number][] = [
  ['::', 128],
  ['::1', 128],
  ['::', 96], // IPv4-compatible (deprecated)
  ['100::', 64], // discard
  ['2001::', 23], // IETF protocol assignments
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

const blocked = new BlockList();
for (const [a, p] of V4_BLOCKED) blocked.addSubnet(a, p, 'ipv4');
for (const [a, p] of V6_BLOCKED) blocked.addSubnet(a, p, 'ipv6');

/** `::ffff:1.2.3.4`, NAT64 `64:ff9b::1.2.3.4` and 6to4 `2002:0102:0304::` carry an IPv4 address: judge that one. */
export function embeddedIPv4(ip: string): string | undefined {
  const lower = ip.toLowerCase();
  const dotted = /^(?:::ffff:|::ffff:0:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted !== null) return dotted[1];
  const words = expandIPv6(lower);
  if (words === undefined) return undefined;
  const hexPair = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  // ::ffff:a.b.c.d written in hex (Node prints [::ffff:7f00:1])
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) return hexPair(words[6]!, words[7]!);
  // NAT64 well-known prefix
  if (words[0] === 0x64 && words[1] === 0xff9b && words.slice(2, 6).every((w) => w === 0)) return hexPair(words[6]!, words[7]!);
  // 6to4
  if (words[0] === 0x2002) return hexPair(words[1]!, words[2]!);
  return undefined;
}

function expandIPv6(ip: string): number[] | undefined {
  if (isIP(ip) !== 6) return undefined;
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4 !== null) {
    const o = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined ? [] : tail === '' ? [] : tail.split(':');
  const missing = 8 - h.length - t.length;
  const all = tail === undefined ? h : [...h, ...Array<string>(missing).fill('0'), ...t];
  if (all.length !== 8) return undefined;
  return all.map((w) => parseInt(w, 16));
}

export interface AddressGuard {
  /** Throws BlockedDestinationError when `ip` may not be connected to. */
  check(ip: string, host: string): void;
  allowed(ip: string): boolean;
}

export function createAddressGuard(allowCidrs: Cidr[]): AddressGuard {
  const allow = new BlockList();
  for (const c of allowCidrs) allow.addSubnet(c.address, c.prefix, c.family === 4 ? 'ipv4' : 'ipv6');
  const hasAllow = allowCidrs.length > 0;

  const allowed = (rawIp: string): boolean => {
    const ip = rawIp.startsWith('[') ? rawIp.slice(1, -1) : rawIp;
    const family = isIP(ip);
    if (family === 0) return false;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (hasAllow && allow.check(ip, type)) return true;
    if (family === 6) {
      const v4 = embeddedIPv4(ip);
      if (v4 !== undefined) {
        if (hasAllow && allow.check(v4, 'ipv4')) return true;
        return !blocked.check(v4, 'ipv4');
      }
    }
    return !blocked.check(ip, type);
  };

  return {
    allowed,
    check(ip, host) {
      if (!allowed(ip)) {
        const shown = host === ip ? ip : `${host} (${ip})`;
        throw new BlockedDestinationError(
          `the upstream ${shown} is a loopback, private, link-local or reserved address; allow its range with UPSTREAM_ALLOW_CIDRS if this is intended`,
        );
      }
    },
  };
}
