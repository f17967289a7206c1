import { BlockList, isIP } from 'node:net';
import type { Cidr } from '../config.js';

/**
 * Which upstream addresses Gatehouse may connect to (docs/design.md#address-guard). The registry validator
 * applies it to literal hosts at save time; the run-time guard applies it to the address actually
 * connected. Both must agree, so both use this module.
 */

export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'cgnat' | 'multicast' | 'reserved' | 'unspecified';

type Range = [net: string, prefix: number, cls: Exclude<AddressClass, 'public'>];

// Order matters only for readability: ranges of different classes never overlap.
const V4_RANGES: Range[] = [
  ['0.0.0.0', 8, 'unspecified'], // "this network"; 0.0.0.0 reaches the local host on Linux
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'cgnat'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'], // IETF protocol assignments
  ['192.0.2.0', 24, 'reserved'], // TEST-NET-1
  ['192.88.99.0', 24, 'reserved'], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'], // benchmarking
  ['198.51.100.0', 24, 'reserved'], // TEST-NET-2
  ['203.0.113.0', 24, 'reserved'], // TEST-NET-3
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // future use, includes 255.255.255.255 (broadcast)
];

const V6_RANGES: Range[] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['64:ff9b:1::', 48, 'private'], // local-use NAT64
  ['100::', 64, 'reserved'], // discard-only
  ['2001::', 23, 'reserved'], // IETF protocol assignments (Teredo, ORCHID, …)
  ['2001:db8::', 32, 'reserved'], // documentation
  ['3fff::', 20, 'reserved'], // documentation (RFC 9637)
  ['5f00::', 16, 'reserved'], // SRv6 SIDs
  ['fc00::', 7, 'private'], // unique local
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'private'], // site-local (deprecated)
  ['ff00::', 8, 'multicast'],
];

const lists = new Map<Exclude<AddressClass, 'public'>, BlockList>();
for (const [net, prefix, cls] of [...V4_RANGES, ...V6_RANGES]) {
  let list = lists.get(cls);
  if (list === undefined) lists.set(cls, (list = new BlockList()));
  list.addSubnet(net, prefix, net.includes(':') ? 'ipv6' : 'ipv4');
}

/** Expands an IPv6 address (no brackets, no zone) into 8 16-bit groups; undefined if malformed. */
function ipv6Groups(ip: string): number[] | undefined {
  let text = ip;
  const groupsFromV4: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (isIP(tail) !== 4) return undefined;
    const o = tail.split('.').map(Number) as [number, number, number, number];
    groupsFromV4.push((o[0] << 8) | o[1], (o[2] << 8) | o[3]);
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const head = parse(halves[0] ?? '');
  const rest = halves.length === 2 ? parse(halves[1] ?? '') : [];
  const fill = halves.length === 2 ? 8 - head.length - rest.length : 0;
  const groups = [...head, ...Array<number>(Math.max(fill, 0)).fill(0), ...rest];
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return undefined;
  if (groupsFromV4.length === 2) groups.splice(6, 2, groupsFromV4[0]!, groupsFromV4[1]!);
  return groups;
}

function v4FromGroups(hi: number, lo: number): string {
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/**
 * The IPv4 address an IPv6 address stands for, when it embeds one in a way a connection could reach
 * it: IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4
 * (2002::/16). Treating these as their IPv4 address stops `[::ffff:127.0.0.1]` from passing as public.
 */
function embeddedV4(groups: number[]): { v4: string; compatible: boolean } | undefined {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [number, number, number, number, number, number, number, number];
  const zeroPrefix = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (zeroPrefix && g5 === 0xffff) return { v4: v4FromGroups(g6, g7), compatible: false };
  if (zeroPrefix && g5 === 0 && (g6 !== 0 || g7 > 1)) return { v4: v4FromGroups(g6, g7), compatible: true };
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return { v4: v4FromGroups(g6, g7), compatible: false };
  if (g0 === 0x2002) return { v4: v4FromGroups(g1, g2), compatible: false };
  return undefined;
}

function stripV6(ip: string): string {
  let text = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  return text;
}

/**
 * Classifies an IP address (canonical or not; IPv6 may carry brackets or a zone id). Anything that
 * is not a valid address is `reserved`, so a caller that forgets to check validity fails closed.
 */
export function classifyAddress(ip: string): AddressClass {
  const v4 = isIP(ip) === 4 ? ip : undefined;
  if (v4 !== undefined) return classifyV4(v4);
  const text = stripV6(ip);
  if (isIP(text) !== 6) return 'reserved';
  const groups = ipv6Groups(text);
  if (groups === undefined) return 'reserved';
  const inner = embeddedV4(groups);
  if (inner !== undefined) {
    const cls = classifyV4(inner.v4);
    // The deprecated IPv4-compatible form (::a.b.c.d) is no normal destination even for a public address.
    return cls === 'public' && inner.compatible ? 'reserved' : cls;
  }
  for (const [cls, list] of lists) {
    if (list.check(text, 'ipv6')) return cls;
  }
  // Only 2000::/3 is allocated as global unicast.
  return (groups[0]! & 0xe000) === 0x2000 ? 'public' : 'reserved';
}

function classifyV4(ip: string): AddressClass {
  for (const [cls, list] of lists) {
    if (list.check(ip, 'ipv4')) return cls;
  }
  return 'public';
}

const allowListCache = new WeakMap<Cidr[], BlockList>();

function allowList(cidrs: Cidr[]): BlockList {
  let list = allowListCache.get(cidrs);
  if (list === undefined) {
    list = new BlockList();
    for (const c of cidrs) list.addSubnet(c.address, c.prefix, c.family === 4 ? 'ipv4' : 'ipv6');
    allowListCache.set(cidrs, list);
  }
  return list;
}

/** True when `ip` may be connected to: a public address, or one inside an operator-allowed CIDR. */
export function isAllowedAddress(ip: string, allowCidrs: Cidr[]): boolean {
  if (classifyAddress(ip) === 'public') return true;
  if (allowCidrs.length === 0) return false;
  const list = allowList(allowCidrs);
  if (isIP(ip) === 4) return list.check(ip, 'ipv4');
  const text = stripV6(ip);
  if (isIP(text) !== 6) return false;
  if (list.check(text, 'ipv6')) return true;
  // An IPv4-mapped address is the IPv4 address: `127.0.0.0/8` allows `::ffff:127.0.0.1` too.
  const groups = ipv6Groups(text);
  const inner = groups !== undefined && groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff ? v4FromGroups(groups[6]!, groups[7]!) : undefined;
  return inner !== undefined && list.check(inner, 'ipv4');
}

/**
 * One IPv4 part as the WHATWG URL parser (and inet_aton) reads it: `0x`-prefixed hex, `0`-prefixed
 * octal, otherwise decimal.
 */
function ipv4Part(part: string): number | undefined {
  if (part === '') return undefined;
  let digits = part;
  let radix = 10;
  if (/^0x/i.test(digits)) {
    digits = digits.slice(2);
    radix = 16;
    if (digits === '') return 0;
    if (!/^[0-9a-f]+$/i.test(digits)) return undefined;
  } else if (digits.length > 1 && digits.startsWith('0')) {
    digits = digits.slice(1);
    radix = 8;
    if (!/^[0-7]+$/.test(digits)) return undefined;
  } else if (!/^[0-9]+$/.test(digits)) {
    return undefined;
  }
  const n = Number.parseInt(digits, radix);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * The IP address a URL host literally names, or undefined when the host is a name. Recognises every
 * spelling resolvers and URL parsers accept: dotted quad, short forms (`127.1`), a single number
 * (`2130706433`), hex (`0x7f.1`), octal (`0177.0.0.1`), a trailing dot, percent-encoding, and IPv6
 * in brackets (with IPv4-mapped forms). Returns the canonical dotted or IPv6 text.
 */
export function literalHostAddress(host: string): string | undefined {
  let text = host.trim();
  if (text.includes('%') && !text.startsWith('[')) {
    try {
      text = decodeURIComponent(text);
    } catch {
      return undefined;
    }
  }
  if (text.startsWith('[') || text.includes(':')) {
    const inner = stripV6(text);
    return isIP(inner) === 6 ? canonicalV6(inner) : undefined;
  }
  // Full-width digits and dots normalise to ASCII in URL host parsing (IDNA), so normalise first.
  text = text.normalize('NFKC').replace(/[。．｡]/g, '.').toLowerCase();
  const parts = text.split('.');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  const last = parts[parts.length - 1] ?? '';
  // WHATWG "ends in a number": only then is the host an IPv4 address (or invalid).
  if (!/^(0x[0-9a-f]*|[0-9]+)$/.test(last)) return undefined;
  if (parts.length > 4) return undefined;
  const nums = parts.map(ipv4Part);
  if (nums.some((n) => n === undefined)) return undefined;
  const values = nums as number[];
  const head = values.slice(0, -1);
  const tail = values[values.length - 1]!;
  if (head.some((n) => n > 255)) return undefined;
  if (tail >= 256 ** (5 - values.length)) return undefined;
  let address = tail;
  head.forEach((n, i) => {
    address += n * 256 ** (3 - i);
  });
  return [address >>> 24, (address >>> 16) & 0xff, (address >>> 8) & 0xff, address & 0xff].join('.');
}

function canonicalV6(ip: string): string {
  // The URL parser's serialisation is the canonical RFC 5952 text.
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

const LOCALHOST_NAMES = new Set(['localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback']);

/** Names that resolve to the local machine without DNS: `localhost`, `*.localhost` (RFC 6761), and the usual /etc/hosts aliases. */
export function isLocalhostName(host: string): boolean {
  let name = host.trim().toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  return LOCALHOST_NAMES.has(name) || name.endsWith('.localhost');
}

/** True when the allow list lets loopback through, so `localhost` names may be used (tests, on-prem). */
export function allowsLoopback(allowCidrs: Cidr[]): boolean {
  return isAllowedAddress('127.0.0.1', allowCidrs) || isAllowedAddress('::1', allowCidrs);
}
