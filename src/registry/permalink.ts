/**
 * docs/design.md#permalinks: the permalink derived from a connector's name. Unicode NFKD, combining marks dropped,
 * lower-cased, every run of characters outside [a-z0-9] becomes one "-", "-" trimmed at both ends,
 * cut to 255 characters without a trailing "-". An empty result means the name cannot give a
 * permalink (the validator then asks for an explicit one).
 */

export const PERMALINK_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const PERMALINK_MAX_LENGTH = 255;

export function derivePermalink(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, PERMALINK_MAX_LENGTH)
    .replace(/-+$/, '');
}

export function isValidPermalink(value: string): boolean {
  return value.length <= PERMALINK_MAX_LENGTH && PERMALINK_PATTERN.test(value);
}
