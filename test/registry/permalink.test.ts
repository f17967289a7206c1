import { describe, expect, it } from 'vitest';
import { derivePermalink, isValidPermalink } from '../../src/registry/permalink.js';
import { derivePermalink as exported } from '../../src/registry/validate.js';

describe('derivePermalink (docs/design.md#permalinks)', () => {
  it.each([
    ['Weather API', 'weather-api'],
    ['Idea Endorsements', 'idea-endorsements'],
    ['  Leading and trailing  ', 'leading-and-trailing'],
    ['Multiple   spaces -- and__punctuation!!', 'multiple-spaces-and-punctuation'],
    ['Café Crème', 'cafe-creme'],
    ['Ångström Über Naïve', 'angstrom-uber-naive'],
    ['ﬁle Ⅳ', 'file-iv'],
    ['Straße', 'stra-e'],
    ['CRM: Contacts (v2)', 'crm-contacts-v2'],
    ['already-a-permalink', 'already-a-permalink'],
    ['日本語', ''],
    ['!!!', ''],
  ])('%j → %j', (name, permalink) => {
    expect(derivePermalink(name)).toBe(permalink);
  });

  it('cuts to 255 characters without a trailing hyphen', () => {
    const name = `${'a'.repeat(254)} b`;
    const p = derivePermalink(name);
    expect(p).toBe('a'.repeat(254));
    expect(derivePermalink('x'.repeat(300))).toHaveLength(255);
  });

  it('always yields a valid permalink or nothing', () => {
    for (const name of ['A', 'a-b', '--x--', 'Ünïcödé', `${'é'.repeat(300)}`, 'a\u0301b']) {
      const p = derivePermalink(name);
      expect(p === '' || isValidPermalink(p)).toBe(true);
    }
  });

  it('is re-exported by the validator module (the shared contract)', () => {
    expect(exported('Weather API')).toBe('weather-api');
  });
});
