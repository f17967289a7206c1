import { bytesValue } from '../templates/index.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A body as text for templates (`body_text`, `response.body`): null when empty or not UTF-8. */
export function decodeUtf8(buf: Buffer | undefined): string | null {
  if (buf === undefined || buf.length === 0) return null;
  try {
    return utf8.decode(buf);
  } catch {
    return null;
  }
}

/** `body_text` and `body_raw` of the caller's body, as request templates see them (None without a body). */
export function callerBodyVars(body: Buffer | undefined): { body_text: string | null; body_raw: unknown } {
  return { body_text: decodeUtf8(body), body_raw: body === undefined || body.length === 0 ? null : bytesValue(body) };
}
