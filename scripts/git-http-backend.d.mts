import type { IncomingMessage, ServerResponse } from 'node:http';

export declare const GIT_ENV: Readonly<Record<string, string>>;

export declare function relayToGitHttpBackend(options: {
  req: IncomingMessage;
  res: ServerResponse;
  body: Buffer;
  root: string;
  remoteUser?: string;
}): Promise<number>;
