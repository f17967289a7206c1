import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import { rootCertificates } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import type { AddressGuard } from './guard.js';
import { BlockedDestinationError, isLocalhostName } from './guard.js';

export interface DispatcherOptions {
  guard: AddressGuard;
  /** Extra CA bundle (UPSTREAM_CA_FILE), trusted in addition to the system roots. */
  extraCa: string | undefined;
  timeoutMs: number;
}

/**
 * The undici Agent every outbound call goes through (upstreams and token endpoints). Its connect
 * step is where the address guard (docs/design.md#address-guard) is enforced: IP literals are judged before connecting, names are judged
 * on every DNS answer (through a checking `lookup`), and the peer address of the connected socket is
 * judged once more, so nothing — a rebinding DNS answer included — reaches a blocked address unnoticed.
 */
export function createUpstreamDispatcher(options: DispatcherOptions): Agent {
  const { guard } = options;

  const checkedLookup: LookupFunction = (hostname, lookupOptions, callback) => {
    const opts = { ...(lookupOptions as LookupOneOptions | LookupAllOptions) };
    const answer = (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]): void => {
      if (err) return (callback as (e: Error | null, a: string, f?: number) => void)(err, '', undefined);
      // Only permitted answers are handed to the socket: a name with one public and one private
      // address can only ever be connected on the public one.
      const permitted = addresses.filter((a) => guard.allowed(a.address));
      if (permitted.length === 0) {
        try {
          guard.check(addresses[0]?.address ?? '', hostname);
        } catch (blockedErr) {
          return (callback as (e: Error | null, a: string, f?: number) => void)(blockedErr as Error, '', undefined);
        }
      }
      addresses = permitted;
      if ((opts as LookupAllOptions).all === true) {
        (callback as unknown as (e: Error | null, a: LookupAddress[]) => void)(null, addresses);
      } else {
        const first = addresses[0]!;
        (callback as (e: Error | null, a: string, f?: number) => void)(null, first.address, first.family);
      }
    };
    // RFC 6761: `localhost` and `*.localhost` are loopback whatever DNS says, so they are judged as such.
    if (isLocalhostName(hostname)) {
      answer(null, [
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ]);
      return;
    }
    dnsLookup(hostname, { ...opts, all: true }, answer);
  };

  const ca = options.extraCa === undefined ? undefined : [...rootCertificates, options.extraCa];
  const base = buildConnector({
    lookup: checkedLookup,
    timeout: options.timeoutMs,
    ...(ca === undefined ? {} : { ca }),
  });

  const connect: buildConnector.connector = (opts, callback) => {
    const host = opts.hostname.startsWith('[') ? opts.hostname.slice(1, -1) : opts.hostname;
    if (isIP(host) !== 0) {
      try {
        guard.check(host, host);
      } catch (err) {
        callback(err as Error, null);
        return;
      }
    }
    base(opts, (err, socket) => {
      if (err !== null) return callback(err, null);
      const remote = (socket as Socket).remoteAddress;
      if (remote !== undefined && !guard.allowed(remote)) {
        socket!.destroy();
        return callback(new BlockedDestinationError(`the upstream ${host} resolved to a blocked address (${remote})`), null);
      }
      callback(null, socket!);
    });
  };

  return new Agent({
    connect,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    keepAliveTimeout: 4_000,
    connections: 256,
    pipelining: 1,
  });
}
