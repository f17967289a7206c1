// A Git smart-HTTP endpoint for local development and tests: `git http-backend` (the CGI program
// git ships) behind a Node HTTP server, serving the bare repositories under a folder. Gatehouse
// reads Git links over smart HTTP, so a registry file committed to such a repository on 127.0.0.1
// is a real Git source (Gatehouse must be allowed to reach it: UPSTREAM_ALLOW_HTTP=true,
// UPSTREAM_ALLOW_CIDRS=127.0.0.1/32). Needs the `git` command.
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';

/** A fixed identity and no system or user configuration: commits made here never depend on the machine. */
export const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Gatehouse Example',
  GIT_AUTHOR_EMAIL: 'example@gatehouse.invalid',
  GIT_COMMITTER_NAME: 'Gatehouse Example',
  GIT_COMMITTER_EMAIL: 'example@gatehouse.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: tmpdir(),
};

/**
 * Answers one Git request (`GET …/info/refs`, `POST …/git-upload-pack`, …) for the bare
 * repositories under `root` by running `git http-backend`; `body` is the request body already read.
 * Resolves with the HTTP status sent.
 */
export async function relayToGitHttpBackend({ req, res, body, root, remoteUser = '' }) {
  const url = new URL(req.url ?? '/', 'http://git');
  const child = spawn('git', ['http-backend'], {
    env: {
      ...process.env,
      ...GIT_ENV,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method ?? 'GET',
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      CONTENT_LENGTH: String(body.length),
      HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
      HTTP_GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
      REMOTE_USER: remoteUser,
      REMOTE_ADDR: '127.0.0.1',
    },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const spawned = new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  await spawned;
  // git http-backend may answer without reading the body (a refused or unknown request) and exit:
  // writing the rest then fails with EPIPE, which is not an error of the exchange — its answer on
  // stdout is. Without a listener the stream's error would crash the process.
  child.stdin.on('error', (err) => {
    if (err.code !== 'EPIPE') res.destroy(err);
  });
  child.stdin.end(body);
  const out = [];
  for await (const chunk of child.stdout) out.push(chunk);
  const all = Buffer.concat(out);
  // A CGI answer: header lines (`Status: 404 Not Found`, `Content-Type: …`), a blank line, the body.
  const split = all.indexOf('\r\n\r\n');
  const headerText = split < 0 ? '' : all.subarray(0, split).toString('latin1');
  let status = 200;
  const headers = {};
  for (const line of headerText.split('\r\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    if (name === 'status') status = Number.parseInt(value, 10);
    else headers[name] = value;
  }
  res.writeHead(status, headers).end(split < 0 ? all : all.subarray(split + 4));
  return status;
}
