import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../src/config.js';
import { allowsLoopback, classifyAddress, isAllowedAddress, isLocalhostName, literalHostAddress } from '../../src/upstream/address-policy.js';

describe('literalHostAddress', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['0177.1', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['127.0.1', '127.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
    ['127.0.0.%31', '127.0.0.1'],
    ['１２７．０．０．１', '127.0.0.1'],
    ['0', '0.0.0.0'],
    ['10.0.0.1', '10.0.0.1'],
    ['[::1]', '::1'],
    ['::1', '::1'],
    ['[0:0:0:0:0:0:0:1]', '::1'],
    ['[::ffff:127.0.0.1]', '::ffff:7f00:1'],
    ['[fe80::1%25eth0]', 'fe80::1'],
  ])('%s → %s', (host, ip) => {
    expect(literalHostAddress(host)).toBe(ip);
  });

  it.each(['example.com', 'api.example.com', '256.1.1.1', '1.2.3.4.5', '0x', 'a.0x1g', 'localhost', 'xn--bcher-kva.de'])('%s is not an IP literal', (host) => {
    const ip = literalHostAddress(host);
    // 0x alone is the number 0 by the WHATWG rules
    if (host === '0x') expect(ip).toBe('0.0.0.0');
    else expect(ip).toBeUndefined();
  });
});

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.20.30.40', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['224.0.0.251', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['64:ff9b::8.8.8.8', 'public'],
    ['2002:7f00:1::', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['::8.8.8.8', 'reserved'],
    ['fe80::1', 'link-local'],
    ['fd12:3456::1', 'private'],
    ['fc00::1', 'private'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['2606:4700:4700::1111', 'public'],
    ['4000::1', 'reserved'],
    ['[::1]', 'loopback'],
    ['not-an-ip', 'reserved'],
  ])('%s is %s', (ip, cls) => {
    expect(classifyAddress(ip)).toBe(cls);
  });
});

describe('isAllowedAddress', () => {
  const loopback = [parseCidr('127.0.0.0/8')!, parseCidr('::1/128')!];
  it('allows public addresses without any allow list', () => {
    expect(isAllowedAddress('93.184.216.34', [])).toBe(true);
    expect(isAllowedAddress('2606:4700::1', [])).toBe(true);
  });
  it('blocks non-public addresses unless a CIDR allows them', () => {
    expect(isAllowedAddress('127.0.0.1', [])).toBe(false);
    expect(isAllowedAddress('127.0.0.1', loopback)).toBe(true);
    expect(isAllowedAddress('::1', loopback)).toBe(true);
    expect(isAllowedAddress('10.0.0.1', loopback)).toBe(false);
  });
  it('treats an IPv4-mapped IPv6 address as its IPv4 address', () => {
    expect(isAllowedAddress('::ffff:127.0.0.1', loopback)).toBe(true);
    expect(isAllowedAddress('::ffff:10.0.0.1', loopback)).toBe(false);
  });
  it('tells whether loopback is allowed', () => {
    expect(allowsLoopback(loopback)).toBe(true);
    expect(allowsLoopback([parseCidr('10.0.0.0/8')!])).toBe(false);
  });
});

describe('isLocalhostName', () => {
  it.each(['localhost', 'LOCALHOST', 'localhost.', 'api.localhost', 'a.b.localhost.', 'localhost.localdomain', 'ip6-localhost'])('%s is local', (h) => {
    expect(isLocalhostName(h)).toBe(true);
  });
  it.each(['example.com', 'localhost.example.com', 'mylocalhost', 'localhostx'])('%s is not local', (h) => {
    expect(isLocalhostName(h)).toBe(false);
  });
});
