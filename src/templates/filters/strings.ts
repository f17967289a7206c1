import { EvalError } from '../errors.js';
import { escape, escapeHtml, softStr } from '../escape.js';
import { formatPercent } from '../format.js';
import { toFixedPy } from '../decimal.js';
import { LIMITS, repeatStr } from '../limits.js';
import { pyCapitalize, pyCenter, pyReplace } from '../pystr.js';
import { isNumber } from '../numbers.js';
import { isIterable, iterate, len, repr, str } from '../protocols.js';
import {
  asString, dictItems, hasAstral, isDict, Markup, nullProto, PyBytes, PyDict, PyTuple, strChars, strLen, toJsNumber,
  typeName, Undefined,
} from '../values.js';
import { parsePyFloat } from './numbers.js';
import { params, type FilterFn } from './support.js';

// Parameter lists of the filters below (allocated once, not per call).
const P_TRIM: [string, unknown?][] = [['chars', null]];
const P_CENTER: [string, unknown?][] = [['width', 80]];
const P_REPLACE: [string, unknown?][] = [['old'], ['new'], ['count', null]];
const P_TRUNCATE: [string, unknown?][] = [['length', 255], ['killwords', false], ['end', '...'], ['leeway', null]];
const P_INDENT: [string, unknown?][] = [['width', 4], ['first', false], ['blank', false]];
const P_XMLATTR: [string, unknown?][] = [['autospace', true]];
const P_FILESIZEFORMAT: [string, unknown?][] = [['binary', false]];

/** String filters of Jinja2 3.1 (filters.py), with markupsafe behaviour for Markup inputs. */

const mapStr = (v: unknown, fn: (s: string) => string): string | Markup => {
  const s = softStr(v);
  return s instanceof Markup ? new Markup(fn(s.s)) : fn(s);
};

const toUpper = (x: string): string => x.toUpperCase();
const toLower = (x: string): string => x.toLowerCase();

const WORD_BEGINNING = /([-\s({[<]+)/;

export const stringFilters: Record<string, FilterFn> = {
  upper: (_s, v) => (typeof v === 'string' ? v.toUpperCase() : mapStr(v, toUpper)),
  lower: (_s, v) => (typeof v === 'string' ? v.toLowerCase() : mapStr(v, toLower)),
  capitalize: (_s, v) => mapStr(v, pyCapitalize),
  title: (_s, v) =>
    mapStr(v, (x) =>
      x
        .split(WORD_BEGINNING)
        .filter((item) => item !== '')
        .map((item) => {
          const cs = strChars(item);
          return cs[0]!.toUpperCase() + cs.slice(1).join('').toLowerCase();
        })
        .join(''),
    ),
  trim: (_s, v, args, kwargs) => {
    const [chars] = params('trim', args, kwargs, P_TRIM);
    const set = chars === null ? null : asString(chars);
    if (chars !== null && set === undefined) throw new EvalError(`strip arg must be None or str`);
    return mapStr(v, (x) => {
      const cs = strChars(x);
      const inSet = (c: string) => (set === null || set === undefined ? /[\s\x1c-\x1f\x85]/u.test(c) : set.includes(c));
      let i = 0;
      let j = cs.length;
      while (i < j && inSet(cs[i]!)) i++;
      while (j > i && inSet(cs[j - 1]!)) j--;
      return cs.slice(i, j).join('');
    });
  },
  center: (_s, v, args, kwargs) => {
    const [width] = params('center', args, kwargs, P_CENTER);
    const w = toJsNumber(width);
    LIMITS.checkString(w);
    return mapStr(v, (x) => pyCenter(x, w));
  },
  replace: (s, v, args, kwargs) => {
    const [old, neu, count] = params('replace', args, kwargs, P_REPLACE);
    const n = count === null ? -1 : toJsNumber(count);
    if (!s.autoescape) return pyReplace(str(v), str(old), str(neu), n);
    let subject: string | Markup;
    if (old instanceof Markup || (neu instanceof Markup && !(v instanceof Markup))) subject = escape(v);
    else subject = softStr(v);
    if (subject instanceof Markup) {
      return new Markup(pyReplace(subject.s, escape(old).s, escape(neu).s, n));
    }
    return pyReplace(subject, str(old), str(neu), n);
  },
  truncate: (_s, v, args, kwargs) => {
    const [length, killwords, end, leeway] = params('truncate', args, kwargs, P_TRUNCATE);
    const len = toJsNumber(length);
    const e = str(end);
    const lw = leeway === null ? 5 : toJsNumber(leeway);
    const endLen = e === '...' ? 3 : strLen(e);
    if (len < endLen) throw new EvalError(`expected length >= ${endLen}, got ${len}`);
    if (lw < 0) throw new EvalError(`expected leeway >= 0, got ${lw}`);
    const s = asString(v);
    if (s === undefined) {
      // do_truncate measures the value itself: short sequences come back unchanged, anything
      // without a length is an error, as in Jinja2
      if (lenOf(v) <= len + lw) return v;
      throw new EvalError(`'${typeName(v)}' object has no attribute 'rsplit'`);
    }
    if (s.length <= len + lw) return v; // never more code points than UTF-16 units
    const cs = hasAstral(s) ? strChars(s) : null;
    const n = cs ? cs.length : s.length;
    if (n <= len + lw) return v;
    const cut = Math.max(0, len - endLen);
    const head = cs ? cs.slice(0, cut).join('') : s.slice(0, cut);
    const kept = killwords !== false && killwords !== null && killwords !== 0 ? head : head.lastIndexOf(' ') >= 0 ? head.slice(0, head.lastIndexOf(' ')) : head;
    // Markup in, Markup out: the appended `end` is escaped like Markup's `+` does
    return v instanceof Markup ? new Markup(kept + escapeHtml(e)) : kept + e;
  },
  wordcount: (_s, v) => {
    const m = str(softStr(v)).match(/[\p{L}\p{N}_]+/gu);
    return m ? m.length : 0;
  },
  striptags: (_s, v) => {
    const s = v instanceof Markup ? v.s : str(v);
    // markupsafe.Markup.striptags: drop comments and tags, collapse whitespace, unescape entities.
    let t = s.replace(/<!--[\s\S]*?(-->|$)/g, '').replace(/<[^>]*>?/g, '');
    t = t.split(/\s+/).filter((x) => x).join(' ');
    return unescapeHtml(t);
  },
  indent: (_s, v, args, kwargs) => {
    const [width, first, blank] = params('indent', args, kwargs, P_INDENT);
    const ind = typeof width === 'string' ? width : repeatStr(' ', toJsNumber(width));
    const isMarkup = v instanceof Markup;
    if (!isMarkup && typeof v !== 'string') {
      if (v instanceof Undefined) v.fail();
      throw new EvalError(`unsupported operand type(s) for +=: '${typeName(v)}' and 'str'`);
    }
    const s = (isMarkup ? (v as Markup).s : (v as string)) + '\n';
    const lines = splitlines(s);
    let rv: string;
    if (blank !== false && blank !== null && blank !== 0) rv = lines.join('\n' + ind);
    else {
      rv = lines.shift() ?? '';
      if (lines.length > 0) rv += '\n' + lines.map((l) => (l ? ind + l : l)).join('\n');
    }
    if (first !== false && first !== null && first !== 0) rv = ind + rv;
    return isMarkup ? new Markup(rv) : rv;
  },
  wordwrap: (_s, v, args, kwargs) => {
    const [width, breakLong, wrapstring, breakHyphens] = params('wordwrap', args, kwargs, [
      ['width', 79], ['break_long_words', true], ['wrapstring', null], ['break_on_hyphens', true],
    ]);
    const ws = wrapstring === null ? '\n' : str(wrapstring);
    const text = asString(v);
    if (text === undefined) throw new EvalError(`'${typeName(v)}' object has no attribute 'splitlines'`);
    return splitlines(text)
      .map((line) => textwrap(line, toJsNumber(width), breakLong !== false, breakHyphens !== false).join(ws))
      .join(ws);
  },
  format: (_s, v, args, kwargs) => {
    if (args.length > 0 && kwargs.size > 0) throw new EvalError("can't handle positional and keyword arguments at the same time");
    const values = kwargs.size > 0 ? PyDict.from(kwargs) : PyTuple.of2(args);
    return formatPercent(softStr(v), values);
  },
  string: (_s, v) => softStr(v),
  safe: (_s, v) => (v instanceof Markup ? v : new Markup(str(v))),
  e: (_s, v) => escape(v),
  escape: (_s, v) => escape(v),
  forceescape: (_s, v) => new Markup(escapeHtml(v instanceof Markup ? v.s : str(v))),
  urlencode: (_s, v) => {
    if (asString(v) !== undefined || !isIterable(v)) return urlQuote(v, false);
    const items = isDict(v) ? dictItems(v) : iterate(v);
    return items
      .map((pair) => {
        if (!isIterable(pair)) throw new EvalError(`cannot unpack non-iterable ${typeName(pair)} object`);
        const kv = iterate(pair);
        if (kv.length !== 2) throw new EvalError(`${kv.length > 2 ? 'too many' : 'not enough'} values to unpack (expected 2${kv.length < 2 ? `, got ${kv.length}` : ''})`);
        return `${urlQuote(kv[0], true)}=${urlQuote(kv[1], true)}`;
      })
      .join('&');
  },
  xmlattr: (s, v, args, kwargs) => {
    const [autospace] = params('xmlattr', args, kwargs, P_XMLATTR);
    if (!isDict(v)) throw new EvalError(`'${typeName(v)}' object has no attribute 'items'`);
    const items: string[] = [];
    for (const t of dictItems(v)) {
      const [key, value] = t;
      if (value === null || value === undefined || value instanceof Undefined) continue;
      const k = str(key);
      if (/[\s/>=]/.test(k)) throw new EvalError(`Invalid character in attribute name: ${JSON.stringify(k)}`);
      items.push(`${escape(key).s}="${escape(value).s}"`);
    }
    let rv = items.join(' ');
    if (autospace !== false && rv) rv = ' ' + rv;
    return s.autoescape ? new Markup(rv) : rv;
  },
  filesizeformat: (_s, v, args, kwargs) => {
    const [binary] = params('filesizeformat', args, kwargs, P_FILESIZEFORMAT);
    let bytes: number;
    const text = asString(v);
    if (text !== undefined) {
      const parsed = parsePyFloat(text);
      if (parsed === null) throw new EvalError(`could not convert string to float: ${repr(text)}`);
      bytes = parsed;
    } else if (isNumber(v)) bytes = toJsNumber(v);
    else {
      if (v instanceof Undefined) v.fail();
      throw new EvalError(`float() argument must be a string or a real number, not '${typeName(v)}'`);
    }
    const bin = binary !== false && binary !== null && binary !== 0;
    const base = bin ? 1024 : 1000;
    const prefixes = bin ? ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'] : ['kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
    if (bytes === 1) return '1 Byte';
    if (bytes < base) return `${Math.trunc(bytes)} Bytes`;
    let unit = 0;
    let prefix = '';
    for (let i = 0; i < prefixes.length; i++) {
      unit = Math.pow(base, i + 2);
      prefix = prefixes[i]!;
      if (bytes < unit) break;
    }
    return `${toFixedPy((base * bytes) / unit, 1)} ${prefix}`;
  },
  urlize: (s, v, args, kwargs) => {
    const [trim, nofollow, target, rel] = params('urlize', args, kwargs, [
      ['trim_url_limit', null], ['nofollow', false], ['target', null], ['rel', null], ['extra_schemes', null],
    ]);
    const relParts = new Set(((rel === null ? '' : str(rel)) + ' noopener').split(/\s+/).filter((x) => x));
    if (nofollow !== false && nofollow !== null) relParts.add('nofollow');
    const relText = [...relParts].sort().join(' ');
    const rv = urlize(str(v), trim === null ? null : toJsNumber(trim), relText, target === null ? null : str(target));
    return s.autoescape ? new Markup(rv) : rv;
  },
};

function lenOf(v: unknown): number {
  return len(v);
}

const SAFE_URL = /[A-Za-z0-9_.\-~]/;

export function urlQuote(v: unknown, forQs: boolean): string {
  const bytes = v instanceof PyBytes ? v.bytes : new TextEncoder().encode(str(v));
  let out = '';
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    if (b < 128 && (SAFE_URL.test(ch) || (!forQs && ch === '/'))) out += ch;
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return forQs ? out.replace(/%20/g, '+') : out;
}

function splitlines(s: string): string[] {
  const out: string[] = [];
  const re = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/g;
  let last = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    out.push(s.slice(last, m.index));
    last = re.lastIndex;
  }
  if (last < s.length) out.push(s.slice(last));
  return out;
}

const ENTITIES: Record<string, string> = nullProto({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' });

function unescapeHtml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (m, e: string) => {
    if (e.startsWith('#x') || e.startsWith('#X')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? m;
  });
}

/** A small textwrap.wrap: words split on whitespace (and after hyphens), greedy fill. */
function textwrap(line: string, width: number, breakLong: boolean, breakHyphens: boolean): string[] {
  if (width <= 0) throw new EvalError(`invalid width ${width} (must be > 0)`);
  const chunks = line.split(breakHyphens ? /(\s+|(?<=[^\s-]-)(?=[^\s-]))/ : /(\s+)/).filter((c) => c !== '' && c !== undefined);
  const lines: string[] = [];
  let cur: string[] = [];
  let curLen = 0;
  chunks.reverse();
  while (chunks.length > 0) {
    cur = [];
    curLen = 0;
    if (lines.length > 0 && /^\s+$/.test(chunks[chunks.length - 1]!)) chunks.pop();
    while (chunks.length > 0) {
      const c = chunks[chunks.length - 1]!;
      if (curLen + strLen(c) <= width) {
        cur.push(chunks.pop()!);
        curLen += strLen(c);
      } else break;
    }
    if (chunks.length > 0 && strLen(chunks[chunks.length - 1]!) > width) {
      const c = chunks.pop()!;
      if (breakLong) {
        const room = Math.max(1, width - curLen);
        const cs = strChars(c);
        cur.push(cs.slice(0, room).join(''));
        chunks.push(cs.slice(room).join(''));
        curLen += room;
      } else if (cur.length === 0) {
        cur.push(c);
      } else chunks.push(c);
    }
    while (cur.length > 0 && /^\s+$/.test(cur[cur.length - 1]!)) cur.pop();
    if (cur.length > 0) lines.push(cur.join(''));
  }
  return lines;
}

/** Jinja2's utils.urlize for the common cases: http(s)/www/domain links and e-mail addresses. */
function urlize(text: string, trim: number | null, rel: string, target: string | null): string {
  const trimUrl = (x: string) => (trim !== null && x.length > trim ? x.slice(0, trim) + (x.length >= 3 ? '...' : '') : x);
  const words = text.split(/(\s+)/);
  const relAttr = rel ? ` rel="${escapeHtml(rel)}"` : '';
  const targetAttr = target ? ` target="${escapeHtml(target)}"` : '';
  return words
    .map((word) => {
      if (/^\s+$/.test(word) || word === '') return escapeHtml(word);
      // leading ( < and trailing . , ) > stay outside the link, as in Jinja2's urlize
      const m = /^([(<]*)(.*?)([.,)>]*)$/s.exec(word)!;
      const head = m[1] ?? '';
      const middle = m[2] ?? '';
      const tail = m[3] ?? '';
      let link: string | null = null;
      if (/^https?:\/\//.test(middle) || /^www\./.test(middle) || /^[\w%-]{2,63}\.(com|net|int|edu|gov|org|info|mil)$/.test(middle)) {
        const href = /^https?:\/\//.test(middle) ? middle : `https://${middle}`;
        link = `<a href="${escapeHtml(href)}"${relAttr}${targetAttr}>${escapeHtml(trimUrl(middle))}</a>`;
      } else if (/^mailto:/.test(middle) || (/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(middle) && !middle.includes(':'))) {
        const addr = middle.startsWith('mailto:') ? middle.slice(7) : middle;
        link = `<a href="mailto:${escapeHtml(addr)}">${escapeHtml(addr)}</a>`;
      }
      if (link === null) return escapeHtml(word);
      return escapeHtml(head) + link + escapeHtml(tail);
    })
    .join('');
}

