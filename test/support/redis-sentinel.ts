import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../src/redis/embedded.js';
import { spawnRedis, waitFor, type RedisProcess } from './redis-processes.js';

/**
 * A real Redis Sentinel set on 127.0.0.1 (Debian's redis-server and redis-sentinel): one master,
 * one replica, three sentinels with quorum 2. A master is declared down after 1 s without answers.
 */
export interface TestSentinelSet {
  /** `redis+sentinel://127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/<name>` (src/redis/connection.ts syntax). */
  url: string;
  name: string;
  masterPort: number;
  replicaPort: number;
  sentinelPorts: number[];
  /** The port the sentinels currently name as master. */
  masterAddress(): Promise<number>;
  /** SIGKILLs the current master (a crash). */
  killMaster(): Promise<void>;
  /** A plain client of the initial master (for WAIT and assertions); disconnected by stop(). */
  master: Redis;
  output(): string;
  stop(): Promise<void>;
}

const NAME = 'ghtest';

export async function startSentinelSet(): Promise<TestSentinelSet> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-sentinel-'));
  const processes: RedisProcess[] = [];
  const clients: Redis[] = [];
  const client = (port: number) => {
    const c = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => 200 });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };
  const stop = async () => {
    for (const c of clients) c.disconnect();
    await Promise.all(processes.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  const output = () => processes.map((p, i) => `--- process ${i} ---\n${p.output()}`).join('\n');
  const server = (port: number, extra: string[]) => {
    const d = join(dir, String(port));
    mkdirSync(d);
    // No 5 s wait before the (diskless) full sync a replica asks for.
    const p = spawnRedis('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--repl-diskless-sync-delay', '0', ...extra], d);
    processes.push(p);
    return p;
  };
  try {
    const masterPort = await freePort();
    const replicaPort = await freePort();
    const master = server(masterPort, []);
    server(replicaPort, ['--replicaof', '127.0.0.1', String(masterPort)]);
    const masterClient = client(masterPort);
    const replicaClient = client(replicaPort);
    await waitFor('the replica to sync with the master', async () => /master_link_status:up/.test(await replicaClient.info('replication')));

    const sentinelPorts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const d = join(dir, `sentinel-${port}`);
      mkdirSync(d);
      // Sentinel rewrites its config file (known replicas and sentinels, epochs): one per sentinel.
      writeFileSync(
        join(d, 'sentinel.conf'),
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${d}`,
          `sentinel monitor ${NAME} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${NAME} 1000`,
          `sentinel failover-timeout ${NAME} 10000`,
          `sentinel parallel-syncs ${NAME} 1`,
          '',
        ].join('\n'),
      );
      processes.push(spawnRedis('redis-sentinel', [join(d, 'sentinel.conf')], d));
      sentinelPorts.push(port);
    }
    const sentinels = sentinelPorts.map(client);
    // Ready for a fail-over once every sentinel knows the replica and the two other sentinels.
    await waitFor('the sentinels to find the replica and each other', async () => {
      for (const s of sentinels) {
        const replicas = (await s.call('SENTINEL', 'REPLICAS', NAME)) as unknown[];
        const peers = (await s.call('SENTINEL', 'SENTINELS', NAME)) as unknown[];
        if (replicas.length !== 1 || peers.length !== 2) return false;
      }
      return true;
    }, 60_000);

    return {
      url: `redis+sentinel://${sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',')}/${NAME}`,
      name: NAME,
      masterPort,
      replicaPort,
      sentinelPorts,
      master: masterClient,
      async masterAddress() {
        for (const s of sentinels) {
          const addr = (await s.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME).catch(() => null)) as [string, string] | null;
          if (addr !== null) return Number(addr[1]);
        }
        throw new Error('no sentinel answered');
      },
      killMaster: () => master.kill(),
      output,
      stop,
    };
  } catch (err) {
    const out = output();
    await stop();
    throw new Error(`could not start a Redis Sentinel set (needs redis-server and redis-sentinel: apt-get install redis-sentinel): ${(err as Error).message}\n${out}`);
  }
}
