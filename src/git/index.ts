export { GitSourceError, type GitSourceErrorKind } from './errors.js';
export { GitRemotes, GIT_FILE_MAX_BYTES, GIT_HISTORY_FIRST_DEPTH, GIT_PACK_MAX_BYTES, type GitCommitRelation, type GitCredentials, type GitTarget } from './remote.js';
export { checkGitUrl, matchKey, withoutCredentials } from './url.js';
export { GitStatuses, type GitStatusRequest, type StatusProvider } from './statuses.js';
