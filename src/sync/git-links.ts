import type { RedisClient } from '../redis/connection.js';
import { syncKeys } from './keys.js';
import type { StoredLink } from './links.js';

/**
 * Links to any Git repository over HTTPS (smart HTTP). They live in the tenant's `links` hash
 * beside GitHub links, under the key `git:<name>` (a GitHub key is `owner/repo` and never holds a
 * `:`), so coordination, history and result recording are the same code for both kinds. Two
 * cross-tenant indexes serve the Git-only paths:
 *   `gh:git-links:<match key>` (`<tenant> <name>` → branch): webhooks find links by clone URL;
 *   `gh:git-poll` (ZSET `<tenant> <name>` scored by the next poll time, epoch ms): the poller.
 */

export const GIT_LINK_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

export type GitProvider = 'gitlab' | 'gitea' | 'generic';

export interface GitLinkSettings {
  name: string;
  url: string;
  /** How webhook payload URLs are matched (src/git/url.ts `matchKey`). */
  match_key: string;
  branch: string;
  path: string;
  username: string | null;
  /** Name of the tenant secret holding the password or token (never the value). */
  token_secret: string | null;
  /** null: GIT_POLL_INTERVAL_S; 0: webhooks only. */
  poll_interval_s: number | null;
  /** Which REST API commit statuses go to (none for `generic`). */
  provider: GitProvider;
}

export interface StoredGitLink extends StoredLink, GitLinkSettings {
  source: 'git';
  /**
   * When the link was created or last pointed at another branch or file (`updated_at` also moves
   * with credentials and polling): commits applied before it read another file. Absent on links
   * stored before it was kept.
   */
  repointed_at?: string;
}

export function gitLinkKey(name: string): string {
  return `git:${name}`;
}

export function isGitLink(link: StoredLink): link is StoredGitLink {
  return (link as Partial<StoredGitLink>).source === 'git';
}

// KEYS: links hash. ARGV: key, settings JSON, now
// Re-pointing (url, branch or path) bumps the generation and forgets what was applied and the pin, as for GitHub links.
const PUT_LUA = `
local s = cjson.decode(ARGV[2])
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local l = cjson.decode(cur)
  if l.url ~= s.url then return {'url_changed', cur} end
  local repointed = l.branch ~= s.branch or l.path ~= s.path
  local same = not repointed and l.username == s.username and l.token_secret == s.token_secret and l.poll_interval_s == s.poll_interval_s and l.provider == s.provider
  if same then return {'unchanged', cur} end
  for k, v in pairs(s) do l[k] = v end
  l.updated_at = ARGV[3]
  if repointed then
    l.generation = (tonumber(l.generation) or 0) + 1
    l.applied = cjson.null
    l.checked_head = cjson.null
    -- A pin names a commit of the old branch or file.
    l.pin = cjson.null
    l.repointed_at = ARGV[3]
  end
  local text = cjson.encode(l)
  redis.call('HSET', KEYS[1], ARGV[1], text)
  return {'changed', text, cur}
end
local l = s
l.source = 'git'
l.tenant = ''
l.repository = s.url
l.created_at = ARGV[3]
l.updated_at = ARGV[3]
l.repointed_at = ARGV[3]
l.applied = cjson.null
l.checked_head = cjson.null
l.generation = 1
local text = cjson.encode(l)
redis.call('HSET', KEYS[1], ARGV[1], text)
return {'created', text}
`;

function parse(tenant: string, text: string): StoredGitLink {
  const l = JSON.parse(text) as StoredGitLink;
  return {
    ...l,
    tenant,
    applied: l.applied ?? null,
    checked_head: l.checked_head ?? null,
    pin: l.pin ?? null,
    generation: Number(l.generation ?? 1),
    username: l.username ?? null,
    token_secret: l.token_secret ?? null,
    poll_interval_s: l.poll_interval_s ?? null,
  };
}

export type GitPutStatus = 'created' | 'changed' | 'unchanged' | 'url_changed';

export class GitLinkStore {
  constructor(private readonly redis: RedisClient) {}

  async get(tenant: string, name: string): Promise<StoredGitLink | undefined> {
    const text = await this.redis.hget(syncKeys.links(tenant), gitLinkKey(name));
    if (text === null) return undefined;
    const link = parse(tenant, text);
    return link.source === 'git' ? link : undefined;
  }

  async list(tenant: string): Promise<StoredGitLink[]> {
    const all = await this.redis.hgetall(syncKeys.links(tenant));
    return Object.keys(all)
      .filter((k) => k.startsWith('git:'))
      .sort()
      .map((k) => parse(tenant, all[k]!));
  }

  /** Creates or updates a link; the URL of an existing link cannot change (its connectors are owned by it). */
  async put(tenant: string, settings: GitLinkSettings, pollDueMs: number | null): Promise<{ status: GitPutStatus; link: StoredGitLink }> {
    const reply = (await this.redis.eval(PUT_LUA, 1, syncKeys.links(tenant), gitLinkKey(settings.name), JSON.stringify(settings), new Date().toISOString())) as [GitPutStatus, string, string?];
    const [status, text, previousText] = reply;
    const link = parse(tenant, text);
    if (status === 'url_changed') return { status, link };
    const member = pollMember(tenant, settings.name);
    const previous = previousText === undefined ? undefined : parse(tenant, previousText);
    if (previous !== undefined && previous.match_key !== link.match_key) await this.redis.hdel(syncKeys.gitLinksByUrl(previous.match_key), member);
    await this.redis.hset(syncKeys.gitLinksByUrl(link.match_key), member, link.branch);
    if (pollDueMs === null) await this.redis.zrem(syncKeys.gitPoll, member);
    else await this.redis.zadd(syncKeys.gitPoll, pollDueMs, member);
    return { status, link };
  }

  async remove(tenant: string, link: StoredGitLink): Promise<boolean> {
    const removed = await this.redis.hdel(syncKeys.links(tenant), gitLinkKey(link.name));
    const member = pollMember(tenant, link.name);
    await Promise.all([this.redis.hdel(syncKeys.gitLinksByUrl(link.match_key), member), this.redis.zrem(syncKeys.gitPoll, member)]);
    return removed === 1;
  }

  /** `{tenant, name}` of every link whose URL matches and whose branch is `branch` (webhook fan-out). */
  async linksForPush(matchKey: string, branch: string): Promise<{ tenant: string; name: string }[]> {
    const all = await this.redis.hgetall(syncKeys.gitLinksByUrl(matchKey));
    return Object.entries(all)
      .filter(([, b]) => b === branch)
      .map(([member]) => splitMember(member));
  }

  /** Claims the links due for a poll (moves each one's next poll to now + its interval). */
  async claimDue(now: number, intervalMsOf: (tenant: string, name: string) => Promise<number | null>, max = 500): Promise<{ tenant: string; name: string }[]> {
    const members = await this.redis.zrangebyscore(syncKeys.gitPoll, '-inf', now, 'LIMIT', 0, max);
    const out: { tenant: string; name: string }[] = [];
    for (const member of members) {
      const { tenant, name } = splitMember(member);
      const interval = await intervalMsOf(tenant, name);
      if (interval === null) {
        await this.redis.zrem(syncKeys.gitPoll, member);
        continue;
      }
      await this.redis.zadd(syncKeys.gitPoll, now + interval, member);
      out.push({ tenant, name });
    }
    return out;
  }
}

function pollMember(tenant: string, name: string): string {
  return `${tenant} ${name}`;
}

function splitMember(member: string): { tenant: string; name: string } {
  const i = member.indexOf(' ');
  return { tenant: member.slice(0, i), name: member.slice(i + 1) };
}
