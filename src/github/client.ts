import type { Octokit } from '@octokit/rest';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { GitHubError, RESET_SLACK_MS, classifyGitHubError, resumeAfterReset } from './errors.js';

/**
 * Octokit factory: one client per credential. With `GITHUB_TOKEN` every repository is read with
 * that token; with a GitHub App (`GITHUB_APP_ID` + private key) the repository's installation is
 * looked up with the app JWT and an installation token (cached and renewed by @octokit/auth-app)
 * reads it. Without either, only public repositories can be read (GitHub's anonymous limits apply).
 */

/** GitHub is remote and sometimes slow; a hung call must not pin a sync worker forever. */
const GITHUB_TIMEOUT_MS = 20_000;
/** Installations rarely move; re-resolve now and then so an uninstall/reinstall is noticed. */
const INSTALLATION_TTL_MS = 10 * 60_000;

/**
 * Octokit and its app authentication are loaded on the first GitHub call, not at start-up: together
 * they are a tenth of a second of module loading that a process serving only widget calls never
 * needs.
 */
let octokitModules: Promise<{ Octokit: typeof Octokit; createAppAuth: typeof import('@octokit/auth-app').createAppAuth }> | undefined;
function loadOctokit() {
  octokitModules ??= Promise.all([import('@octokit/rest'), import('@octokit/auth-app')]).then(([rest, auth]) => ({
    Octokit: rest.Octokit,
    createAppAuth: auth.createAppAuth,
  }));
  return octokitModules;
}

export type CredentialMode = 'token' | 'app' | 'anonymous';

export interface OctokitProvider {
  readonly mode: CredentialMode;
  /** The client that may read `repository` (`owner/repo`). Throws GitHubError. */
  forRepository(repository: string): Promise<Octokit>;
  /** Forget cached installation data after GitHub said the credential cannot see the repository. */
  invalidate(repository: string): void;
}

/** The 403 GitHub gives a spent budget, produced without calling it (classified as rate-limited). */
function rateLimitedHere(untilMs: number): Response {
  return new Response(JSON.stringify({ message: 'API rate limit exceeded: Gatehouse holds calls with this credential until the reset' }), {
    status: 403,
    // The reset GitHub gave (classifying this answer adds the slack back, once).
    headers: { 'content-type': 'application/json; charset=utf-8', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.ceil((untilMs - RESET_SLACK_MS) / 1000)) },
  });
}

export function splitRepository(repository: string): { owner: string; repo: string } {
  const [owner, repo, extra] = repository.split('/');
  if (owner === undefined || repo === undefined || extra !== undefined || owner === '' || repo === '') {
    throw new GitHubError('permanent', `"${repository}" is not owner/repo`, undefined);
  }
  return { owner, repo };
}

export interface ProviderHooks {
  /**
   * A response said the credential's budget is spent (`x-ratelimit-remaining: 0`) and when it
   * resets (epoch ms): callers stop calling GitHub until then instead of collecting 403s.
   */
  onRateLimitExhausted?(resetAtMs: number): void;
}

export function createOctokitProvider(config: Config, log: Logger, hooks: ProviderHooks = {}): OctokitProvider {
  const octokitLog = {
    debug: () => undefined,
    info: () => undefined,
    warn: (message: string) => log.warn({ github: true }, message),
    error: (message: string) => log.warn({ github: true }, message),
  };
  // Until when this credential's budget is spent (epoch ms): calls before then are answered here,
  // as GitHub would answer them, instead of spending requests on 403s.
  let spentUntil = 0;
  const fetchWithTimeout = async (url: string | URL | Request, init?: RequestInit) => {
    if (Date.now() < spentUntil) return rateLimitedHere(spentUntil);
    const timeout = AbortSignal.timeout(GITHUB_TIMEOUT_MS);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    const response = await fetch(url, { ...init, signal });
    const reset = response.headers.get('x-ratelimit-reset');
    // A successful answer that spent the last call (a rate-limited 403/429 is classified and waited
    // out by the job itself, see errors.ts).
    if (response.status < 400 && response.headers.get('x-ratelimit-remaining') === '0' && reset !== null && /^\d+$/.test(reset)) {
      // The same wait as a rate-limited 403 gets: the reset plus slack (a call right at the reset
      // second could still be refused, and the budget may have been spent close to its reset).
      const resetAtMs = resumeAfterReset(Number(reset));
      if (resetAtMs > spentUntil) {
        spentUntil = resetAtMs;
        hooks.onRateLimitExhausted?.(resetAtMs);
      }
    }
    return response;
  };
  const base = {
    baseUrl: config.githubApiUrl,
    userAgent: 'gatehouse',
    log: octokitLog,
    request: { fetch: fetchWithTimeout },
  };

  if (config.githubAppId !== undefined && config.githubAppPrivateKey !== undefined) {
    const appAuth = { appId: config.githubAppId, privateKey: config.githubAppPrivateKey };
    let app: Octokit | undefined;
    const installations = new Map<number, Octokit>();
    const byRepository = new Map<string, { id: number; until: number }>();
    return {
      mode: 'app',
      async forRepository(repository) {
        const key = repository.toLowerCase();
        let cached = byRepository.get(key);
        if (cached === undefined || cached.until < Date.now()) {
          const { owner, repo } = splitRepository(repository);
          const { Octokit, createAppAuth } = await loadOctokit();
          app ??= new Octokit({ ...base, authStrategy: createAppAuth, auth: appAuth });
          try {
            const { data } = await app.rest.apps.getRepoInstallation({ owner, repo });
            cached = { id: data.id, until: Date.now() + INSTALLATION_TTL_MS };
            byRepository.set(key, cached);
          } catch (err) {
            const e = classifyGitHubError(err, `GET /repos/${repository}/installation`);
            if (e.kind === 'not-found') {
              throw new GitHubError('permanent', `the GitHub App ${config.githubAppId} is not installed on ${repository} (install it, or grant it this repository)`, e.status);
            }
            throw e;
          }
        }
        let client = installations.get(cached.id);
        if (client === undefined) {
          const { Octokit, createAppAuth } = await loadOctokit();
          client = new Octokit({ ...base, authStrategy: createAppAuth, auth: { ...appAuth, installationId: cached.id } });
          installations.set(cached.id, client);
        }
        return client;
      },
      invalidate(repository) {
        byRepository.delete(repository.toLowerCase());
      },
    };
  }

  let client: Octokit | undefined;
  return {
    mode: config.githubToken !== undefined ? 'token' : 'anonymous',
    async forRepository() {
      const { Octokit } = await loadOctokit();
      client ??= new Octokit({ ...base, ...(config.githubToken !== undefined ? { auth: config.githubToken } : {}) });
      return client;
    },
    invalidate: () => undefined,
  };
}
