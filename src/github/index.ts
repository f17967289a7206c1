import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createOctokitProvider, type CredentialMode, type ProviderHooks } from './client.js';
import { GitHubChecks } from './checks.js';
import { GitHubRepositories } from './repository.js';
import { GitHubStatuses } from './statuses.js';

export { GitHubError, classifyGitHubError } from './errors.js';
export type { BranchHead, CommitRelation, RegistryBlob } from './repository.js';
export { ANNOTATIONS_PER_REQUEST, checkText, type CheckAnnotation, type CheckRunInput, type CheckRunOutcome } from './checks.js';
export { STATUS_CONTEXT, statusDescription, type CommitState, type StatusOutcome } from './statuses.js';

/** The GitHub side of the sync: reading linked repositories, reporting commit statuses and check runs. */
export interface GitHub {
  mode: CredentialMode;
  repositories: GitHubRepositories;
  statuses: GitHubStatuses;
  checks: GitHubChecks;
}

export function createGitHub(config: Config, log: Logger, hooks: ProviderHooks = {}): GitHub {
  const provider = createOctokitProvider(config, log, hooks);
  return { mode: provider.mode, repositories: new GitHubRepositories(provider), statuses: new GitHubStatuses(provider), checks: new GitHubChecks(provider) };
}
