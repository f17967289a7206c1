import { allowsLoopback, classifyAddress, isAllowedAddress, isLocalhostName, literalHostAddress } from '../../upstream/address-policy.js';
import { functionCalls, scanTemplate, type Segment, type Token } from './template-scan.js';
import type { RuleOptions } from './types.js';

/**
 * The save-time URL rules of docs/registry.md#urls for one URL template (connector url, composite step url,
 * token_url): scheme, host templating, literal host policy (docs/design.md#address-guard), forbidden
 * characters and get_secret. Problems carry the index of the offending character in the template.
 */

export interface UrlProblem {
  index: number;
  message: string;
}

type Tag = Extract<Segment, { tokens: Token[] }>;

const HOST_FORM = `{{ get_variable('name') }}, optionally with | default('fallback') or | default('fallback', true)`;

export function checkUrlTemplate(source: string, options: RuleOptions): UrlProblem[] {
  const scan = scanTemplate(source);
  // An unterminated tag is a syntax error, reported by the template rule with its position.
  if (!scan.complete) return [];
  const problems: UrlProblem[] = [];
  for (const call of functionCalls(scan, 'get_secret')) {
    problems.push({
      index: call.start,
      message: 'get_secret() cannot be used in a URL (secrets never go into URLs, which end up in logs): send the credential in a header, a query parameter or "authentication"',
    });
  }
  const segs = scan.segments;
  const first = segs[0];
  if (first === undefined) return problems;
  if (first.kind !== 'text') {
    problems.push(...checkTemplatedOrigin(first, segs, options));
  } else {
    problems.push(...checkLiteralScheme(source, first.text, segs, options));
  }
  return problems;
}

/** The URL starts with a tag: either a templated protocol (never valid) or a whole origin from a Variable. */
function checkTemplatedOrigin(first: Tag, segs: Segment[], options: RuleOptions): UrlProblem[] {
  const next = segs[1];
  if (first.kind === 'expr' && next?.kind === 'text' && next.text.startsWith(':')) {
    return [{ index: first.start, message: 'the protocol cannot be templated: write https:// literally and template only the host, e.g. https://{{ get_variable(\'host\') }}/path' }];
  }
  if (first.kind !== 'expr') {
    return [{ index: first.start, message: `the URL must start with https:// or with a Variable holding the whole origin (${HOST_FORM})` }];
  }
  const expr = parseHostExpression(first);
  if (!expr.ok) return [{ index: expr.index, message: `${expr.message} (a URL that starts with a template takes its whole origin from a Variable)` }];
  const problems: UrlProblem[] = [];
  if (next !== undefined && !(next.kind === 'text' && /^[/?#]/.test(next.text))) {
    problems.push({ index: next.start, message: 'after a Variable holding the whole origin the URL must continue with "/" (the path), "?" or end' });
  }
  if (expr.fallback !== undefined) {
    const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/.exec(expr.fallback.value);
    if (m === null) {
      problems.push({ index: expr.fallback.index, message: `the fallback '${expr.fallback.value}' must be a whole origin including the scheme, e.g. default('https://app.example.com'), because the Variable supplies the whole origin` });
    } else {
      const scheme = schemeProblem(m[1]!, options);
      if (scheme !== undefined) problems.push({ index: expr.fallback.index, message: `the fallback origin ${scheme}` });
      const host = literalAuthorityProblem(m[2]!, options);
      if (host !== undefined) problems.push({ index: expr.fallback.index, message: `the fallback origin ${host}` });
    }
  }
  const restStart = first.end;
  problems.push(...characterProblems(segs, restStart));
  return problems;
}

function schemeProblem(scheme: string, options: RuleOptions): string | undefined {
  const s = scheme.toLowerCase();
  if (s === 'https') return undefined;
  if (s === 'http') {
    return options.allowHttp ? undefined : 'uses http://: upstream URLs must use https:// (UPSTREAM_ALLOW_HTTP=true allows http for tests and on-prem upstreams)';
  }
  return `uses the "${scheme}" protocol: only https:// URLs are allowed`;
}

function checkLiteralScheme(source: string, firstText: string, segs: Segment[], options: RuleOptions): UrlProblem[] {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(firstText);
  if (m === null) {
    if (segs.length > 1 && !firstText.includes('/') && /:\/\//.test(source)) {
      return [{ index: segs[1]!.start, message: 'the protocol cannot be templated: write https:// literally' }];
    }
    return [{ index: 0, message: 'is not an absolute URL: write the full address starting with https://, e.g. https://api.example.com/v1/items' }];
  }
  const problems: UrlProblem[] = [];
  const scheme = schemeProblem(m[1]!, options);
  if (scheme !== undefined) problems.push({ index: 0, message: scheme });

  // Collect the authority: from after "://" up to the first "/", "?" or "#" in literal text.
  const parts: ({ kind: 'text'; text: string; start: number } | { kind: 'tag'; tag: Tag })[] = [];
  let restStart = source.length;
  for (const seg of segs) {
    if (seg.kind === 'text') {
      const from = seg === segs[0] ? m[0].length : 0;
      const text = seg.text.slice(from);
      const stop = text.search(/[/?#]/);
      if (stop === -1) {
        if (text !== '') parts.push({ kind: 'text', text, start: seg.start + from });
        continue;
      }
      if (stop > 0) parts.push({ kind: 'text', text: text.slice(0, stop), start: seg.start + from });
      restStart = seg.start + from + stop;
      break;
    }
    parts.push({ kind: 'tag', tag: seg });
  }

  const authorityStart = m[0].length;
  if (parts.length === 0) {
    problems.push({ index: authorityStart, message: 'has no host: write https://<host>/…' });
    return problems;
  }
  const tagParts = parts.filter((p) => p.kind === 'tag');
  if (tagParts.length === 0) {
    const authority = parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');
    const problem = literalAuthorityProblem(authority, options);
    const backslash = authority.indexOf('\\');
    if (problem !== undefined) problems.push({ index: authorityStart + (problem.includes('backslash') && backslash !== -1 ? backslash : 0), message: problem });
    else if (segs.length === 1) {
      try {
        new URL(source);
      } catch {
        problems.push({ index: 0, message: 'is not a valid URL: check the host and port' });
      }
    }
  } else {
    problems.push(...templatedHostProblems(parts, options));
  }
  problems.push(...characterProblems(segs, restStart));
  return problems;
}

function templatedHostProblems(
  parts: ({ kind: 'text'; text: string; start: number } | { kind: 'tag'; tag: Tag })[],
  options: RuleOptions,
): UrlProblem[] {
  const problems: UrlProblem[] = [];
  let candidate = '';
  let everyTagHasFallback = true;
  for (const [i, part] of parts.entries()) {
    if (part.kind === 'tag') {
      if (part.tag.kind !== 'expr') {
        // One report per host: an {% if %} brings its {% endif %} along.
        problems.push({ index: part.tag.start, message: `"${abbreviate(sourceOf(part.tag))}" cannot be used in the host: the host may only come from ${HOST_FORM}` });
        return problems;
      }
      const expr = parseHostExpression(part.tag);
      if (!expr.ok) {
        problems.push({ index: expr.index, message: expr.message });
        everyTagHasFallback = false;
        continue;
      }
      if (expr.fallback === undefined) everyTagHasFallback = false;
      else {
        if (/:\/\//.test(expr.fallback.value)) {
          problems.push({ index: expr.fallback.index, message: `the fallback '${expr.fallback.value}' is a URL but stands in the host position: give just the host name, e.g. default('app.example.com')` });
          everyTagHasFallback = false;
        }
        candidate += expr.fallback.value;
      }
      continue;
    }
    const bad = /[^A-Za-z0-9.\-_:]/.exec(part.text);
    if (bad !== null) {
      const ch = bad[0];
      problems.push({
        index: part.start + bad.index,
        message: ch === '@' ? 'credentials in the URL (user@host) are not allowed: use "authentication"' : `the host contains ${describeChar(ch)}: a host is made of letters, digits, "." and "-" (and an optional :port)`,
      });
      return problems;
    }
    // A literal ":port" may follow the templated host (docs/design.md#address-guard).
    const colon = part.text.indexOf(':');
    if (colon !== -1) {
      const port = part.text.slice(colon + 1);
      const later = parts.slice(i + 1);
      if (later.length > 0 || !/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
        problems.push({ index: part.start + colon, message: `invalid port "${port}": after the host write ":<1-65535>" and nothing else before the path` });
        return problems;
      }
    }
    candidate += part.text;
  }
  if (problems.length > 0) return problems;
  const firstIndex = parts[0]!.kind === 'tag' ? parts[0]!.tag.start : parts[0]!.start;
  if (everyTagHasFallback) {
    const problem = literalAuthorityProblem(candidate, options);
    if (problem !== undefined) {
      const message = candidate.replace(/:\d*$/, '') === ''
        ? "the fallback is empty, so the host would be empty whenever the Variable is unset: give a host name, e.g. default('api.example.com'), or remove default()"
        : `with its fallback the host ${problem.replace(/^the host /, '')}`;
      problems.push({ index: firstIndex, message });
    }
  } else {
    // Whatever the Variable holds, a host ending in ".localhost" is the local machine.
    const suffix = candidate.replace(/:\d+$/, '');
    if (/\.localhost\.?$/i.test(suffix) && !allowsLoopback(options.allowCidrs)) {
      problems.push({ index: firstIndex, message: 'the host always ends in ".localhost", which is the local machine: upstream hosts must be public' });
    }
  }
  return problems;
}

function sourceOf(tag: Tag): string {
  const open = tag.kind === 'expr' ? '{{' : tag.kind === 'stmt' ? '{%' : '{#';
  const close = tag.kind === 'expr' ? '}}' : tag.kind === 'stmt' ? '%}' : '#}';
  return `${open} ${tag.inner.trim()} ${close}`;
}

function abbreviate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

type HostExpression =
  | { ok: true; variable: string; fallback: { value: string; index: number; emptyToo: boolean } | undefined }
  | { ok: false; message: string; index: number };

/** `get_variable('<literal>')` optionally followed by `| default('<literal>'[, true])` — nothing else (docs/registry.md#urls). */
function parseHostExpression(tag: Tag): HostExpression {
  const t = tag.tokens;
  const shown = abbreviate(sourceOf(tag));
  const reject = (why: string, index = tag.start): HostExpression => ({ ok: false, index, message: `"${shown}" cannot be used in the host: ${why}` });
  if (t[0]?.type !== 'name' || t[0].value !== 'get_variable' || t[1]?.value !== '(') {
    return reject(`the host may only come from ${HOST_FORM}`);
  }
  if (t[2]?.type !== 'string' || t[3]?.value !== ')') {
    // get_variable(name) is a template error in every field; the template engine reports it there.
    if (t.slice(2).some((tok) => tok.value === ')') && t[2]?.type !== 'string') return { ok: true, variable: '', fallback: undefined };
    return reject("get_variable() needs a quoted literal name, e.g. get_variable('portal_host')", t[2]?.start ?? tag.start);
  }
  const variable = t[2].value;
  if (t.length === 4) return { ok: true, variable, fallback: undefined };
  if (t[4]?.value !== '|') return reject(`only one get_variable() call, optionally with | default('fallback'[, true]), may template the host`, t[4]?.start);
  const filter = t[5];
  if (filter?.type !== 'name' || filter.value !== 'default') {
    return reject(`the filter "${filter?.value ?? ''}" is not allowed here; the only filter allowed in the host is default('fallback'[, true])`, filter?.start);
  }
  if (t[6]?.value !== '(' || t[7]?.type !== 'string') {
    return reject("write default() with one quoted literal, optionally followed by true, e.g. default('app.example.com', true)", t[6]?.start ?? filter.start);
  }
  const value = t[7].value;
  let emptyToo = false;
  let close = 8;
  if (t[8]?.value === ',') {
    if (t[9]?.type !== 'name' || (t[9].value !== 'true' && t[9].value !== 'True')) {
      return reject("the second argument of default() in the host can only be true: remove it or write true", t[9]?.start ?? t[8].start);
    }
    emptyToo = true;
    close = 10;
  }
  if (t[close]?.value !== ')' || t.length !== close + 1) {
    return reject("write default() with one quoted literal, optionally followed by true, and nothing after it", t[close]?.start ?? filter.start);
  }
  return { ok: true, variable, fallback: { value, index: t[7].start, emptyToo } };
}

/** Problems of a literal `host[:port]` (no userinfo, no path). */
function literalAuthorityProblem(authority: string, options: RuleOptions): string | undefined {
  // Browsers and WHATWG parsers read "\\" as "/": what looks like one host would be another one plus a path.
  if (authority.includes('\\')) return 'contains a backslash ("\\") after the scheme, which URL parsers read as "/": write "/" for the path, or percent-encode it as %5C';
  if (authority.includes('@')) return 'contains credentials (user@host), which are not allowed: use "authentication"';
  let host = authority;
  let port: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close === -1) return `the host "${authority}" is not a valid IPv6 literal`;
    host = authority.slice(0, close + 1);
    const rest = authority.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return `the host "${authority}" is not valid`;
      port = rest.slice(1);
    }
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon !== -1) {
      host = authority.slice(0, colon);
      port = authority.slice(colon + 1);
    }
  }
  if (host === '') return 'has no host: write https://<host>/…';
  if (port !== undefined && (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535)) {
    return `has an invalid port "${port}": use a number between 1 and 65535`;
  }
  if (!host.startsWith('[')) {
    const bad = /[^A-Za-z0-9.\-_]/.exec(host);
    if (bad !== null) {
      return /[^\x00-\x7f]/.test(bad[0])
        ? `the host "${host}" contains the non-ASCII character "${bad[0]}": write internationalised names in their punycode (xn--) form`
        : `the host "${host}" contains ${describeChar(bad[0])}, which is not allowed in a host name`;
    }
  }
  return hostPolicyProblem(host, authority, options);
}

function hostPolicyProblem(host: string, authority: string, options: RuleOptions): string | undefined {
  const allowHint = 'upstreams must be public hosts (an operator can exempt ranges with UPSTREAM_ALLOW_CIDRS for tests or on-prem services)';
  if (isLocalhostName(host) && !allowsLoopback(options.allowCidrs)) return `targets "${host}", the local machine: ${allowHint}`;
  const candidates = new Set<string>();
  const literal = literalHostAddress(host);
  if (literal !== undefined) candidates.add(literal);
  // The URL parser's view of the host is what a client would connect to.
  let parsedHost: string;
  try {
    parsedHost = new URL(`https://${authority}/`).hostname;
  } catch {
    return `the host "${host}" is not valid`;
  }
  const parsed = literalHostAddress(parsedHost);
  if (parsed !== undefined) candidates.add(parsed);
  for (const ip of candidates) {
    if (!isAllowedAddress(ip, options.allowCidrs)) {
      const cls = classifyAddress(ip);
      const spelled = ip === host.replace(/^\[|\]$/g, '') ? `"${host}"` : `"${host}" (= ${ip})`;
      return `targets ${spelled}, ${ADDRESS_CLASS_WORDS[cls] ?? `a ${cls}`} address: ${allowHint}`;
    }
  }
  if (isLocalhostName(parsedHost) && !allowsLoopback(options.allowCidrs)) return `targets "${host}", the local machine: ${allowHint}`;
  return undefined;
}

/** Article and spelling of each address class in messages ("an unspecified address", "a CGNAT address"). */
const ADDRESS_CLASS_WORDS: Partial<Record<string, string>> = {
  loopback: 'a loopback',
  private: 'a private',
  'link-local': 'a link-local',
  cgnat: 'a carrier-grade NAT (CGNAT, 100.64.0.0/10)',
  multicast: 'a multicast',
  reserved: 'a reserved',
  unspecified: 'an unspecified',
};

/** Characters a URL may carry unencoded (RFC 3986 unreserved, reserved and "%XX"). */
const URL_CHAR = /[A-Za-z0-9\-._~!$&'()*+,;=:@/?#[\]%]/;

function characterProblems(segs: Segment[], from: number): UrlProblem[] {
  for (const seg of segs) {
    if (seg.kind !== 'text' || seg.end <= from) continue;
    const start = Math.max(seg.start, from);
    const text = seg.text.slice(start - seg.start);
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (ch === '%') {
        if (!/^%[0-9A-Fa-f]{2}/.test(text.slice(i))) {
          return [{ index: start + i, message: 'contains a "%" that does not start a percent-encoding (%XX): write it as %25, or put the value in query_parameters, which are encoded automatically' }];
        }
        continue;
      }
      if (URL_CHAR.test(ch)) continue;
      let message: string;
      if (ch === ' ') message = 'contains a space: URLs cannot hold raw spaces; put the value in query_parameters (encoded automatically) or write it as %20';
      else if (ch === '{' || ch === '}') message = `contains a literal "${ch}": write path parameters as {{ pathParams.name }} and declare them in path_parameters`;
      else message = `contains ${describeChar(ch)}, which must not appear raw in a URL: put such values in query_parameters (encoded automatically) or percent-encode them`;
      return [{ index: start + i, message }];
    }
  }
  return [];
}

function describeChar(ch: string): string {
  const code = ch.codePointAt(0)!;
  if (code < 0x20 || code === 0x7f) return `the control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  if (code > 0x7f) return `the non-ASCII character "${ch}"`;
  if (ch === ' ') return 'a space';
  return `the character ${JSON.stringify(ch)}`;
}
