import { Cluster } from 'ioredis';
import type { Logger } from '../logger.js';
import type { RedisClient } from '../redis/connection.js';
import { CHANGES_CHANNEL, stateKeys } from '../registry/keys.js';

export type ChangeListener = (tenant: string) => void;

export interface ChangeFeedOptions {
  /** Fallback check of every tracked tenant's revision, for a missed pub/sub message (docs/design.md#read-your-writes: ≤ 1 s). */
  pollIntervalMs?: number;
  /** Tenants whose revision is tracked at most; the oldest is dropped (and invalidated) beyond it. */
  maxTracked?: number;
}

/**
 * Tells per-process caches (the registry view, the tenant settings cache) that a tenant's state
 * changed. Three sources, so a cache is never stale for long:
 *  1. writes made by this process: `changed()` is called synchronously after the write (read your
 *     writes at once);
 *  2. the `gh:changes` pub/sub channel, which every write script publishes to (other processes,
 *     usually within milliseconds);
 *  3. a periodic check of each tracked tenant's revision counter (a message lost during a
 *     reconnect is noticed within `pollIntervalMs`).
 * Listeners drop what they hold for the tenant and reload lazily.
 */
export class ChangeFeed {
  private readonly listeners = new Set<ChangeListener>();
  /** Revision last seen per tenant some cache holds state for. Insertion order = age. */
  private readonly known = new Map<string, number>();
  /** Revision of this process's last write per untracked tenant, until its pub/sub echo arrives. */
  private readonly ownWrites = new Map<string, number>();
  private subscriber: RedisClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;
  private readonly pollIntervalMs: number;
  private readonly maxTracked: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly log: Logger,
    options: ChangeFeedOptions = {},
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.maxTracked = options.maxTracked ?? 10_000;
  }

  /** Registers a listener; the pub/sub connection and the periodic check start with the first one. */
  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    this.start();
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** A write in this process produced `revision` for `tenant`. */
  changed(tenant: string, revision: number): void {
    if (this.known.has(tenant)) this.known.set(tenant, revision);
    else if (Number.isFinite(revision)) {
      // Its pub/sub echo is announced already (now): skipping it keeps a load made after the write.
      if (this.ownWrites.size >= this.maxTracked) this.ownWrites.clear();
      this.ownWrites.set(tenant, revision);
    }
    this.emit(tenant);
  }

  /**
   * A cache loaded state of `tenant` at `revision`. Starts tracking the tenant; a revision newer
   * than the one known means a change whose message has not arrived yet, so caches drop older state.
   */
  observe(tenant: string, revision: number): void {
    const known = this.known.get(tenant);
    if (known === undefined) {
      this.known.set(tenant, revision);
      this.trim();
      return;
    }
    if (revision > known) {
      this.known.set(tenant, revision);
      this.emit(tenant);
    }
  }

  /** Number of tenants whose revision the periodic check reads. */
  get tracked(): number {
    return this.known.size;
  }

  /** Reads the current revision of each tenant (one command each, sent together). */
  async revisions(tenants: string[]): Promise<number[]> {
    const values = await Promise.all(tenants.map((t) => this.redis.get(stateKeys.revision(t))));
    return values.map((v) => (v === null ? 0 : Number(v)));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    const sub = this.subscriber;
    this.subscriber = undefined;
    if (sub !== undefined) {
      sub.removeAllListeners('message');
      await sub.quit().catch(() => sub.disconnect());
    }
  }

  private start(): void {
    if (this.closed || this.subscriber !== undefined) return;
    // Subscribes on every 'ready' itself instead of ioredis's autoResubscribe, whose SUBSCRIBE after a
    // reconnect has no rejection handler: closing the service while it is in flight (a shutdown just
    // after a Redis restart) would be an unhandled rejection, which ends a Node process. (A Cluster
    // client keeps its own resubscription; subscribing again on 'ready' is harmless there.)
    const sub = this.redis instanceof Cluster ? this.redis.duplicate() : this.redis.duplicate({ autoResubscribe: false });
    this.subscriber = sub;
    sub.on('ready', () => {
      sub.subscribe(CHANGES_CHANNEL).catch((err: Error) => {
        if (!this.closed) this.log.warn({ err: { message: err.message } }, 'change feed: subscribe failed; relying on the periodic check');
      });
    });
    sub.on('error', (err: Error) => this.log.warn({ err: { message: err.message } }, 'change feed: redis connection error'));
    sub.on('message', (channel: string, message: string) => {
      if (channel !== CHANGES_CHANNEL) return;
      const space = message.lastIndexOf(' ');
      const tenant = space < 0 ? message : message.slice(0, space);
      const revision = space < 0 ? NaN : Number(message.slice(space + 1));
      if (this.known.has(tenant) && Number.isFinite(revision)) {
        if (this.known.get(tenant) === revision) return;
        this.known.set(tenant, revision);
      } else if (this.ownWrites.get(tenant) === revision) {
        this.ownWrites.delete(tenant);
        return;
      }
      // Untracked tenants are announced too: a cache may be loading one right now.
      this.emit(tenant);
    });
    this.timer = setInterval(() => void this.poll(), this.pollIntervalMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    if (this.polling || this.known.size === 0) return;
    this.polling = true;
    try {
      const tenants = [...this.known.keys()];
      const current = await this.revisions(tenants);
      tenants.forEach((tenant, i) => {
        const known = this.known.get(tenant);
        if (known !== undefined && known !== current[i]) {
          this.known.set(tenant, current[i]!);
          this.emit(tenant);
        }
      });
    } catch (err) {
      this.log.debug({ err: { message: (err as Error).message } }, 'change feed: revision check failed');
    } finally {
      this.polling = false;
    }
  }

  private trim(): void {
    while (this.known.size > this.maxTracked) {
      const oldest = this.known.keys().next().value as string;
      this.known.delete(oldest);
      this.emit(oldest);
    }
  }

  private emit(tenant: string): void {
    for (const listener of this.listeners) {
      try {
        listener(tenant);
      } catch (err) {
        this.log.warn({ err: { message: (err as Error).message }, tenant }, 'change listener failed');
      }
    }
  }
}
