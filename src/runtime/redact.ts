/**
 * The one redaction rule of the runtime: a secret value never reaches an error detail, a log line or
 * Test Connection's debug record, in whatever form the text quotes it — raw, percent-encoded (a
 * secret in a query string, quoted in a URL) or JSON-escaped (a secret inside a JSON string).
 * Values shorter than three characters are left alone: they occur in ordinary text by chance.
 */

export const MASK = '**********';

const MIN_REDACTED_LENGTH = 3;

/** The forms in which `value` can appear in text this process writes (the raw one first). */
export function quotedForms(value: string): string[] {
  const forms = [value];
  const encoded = encodeURIComponent(value);
  if (encoded !== value) forms.push(encoded);
  const escaped = JSON.stringify(value).slice(1, -1);
  if (escaped !== value) forms.push(escaped);
  return forms;
}

/** `text` with every form of every value replaced by the mask. */
export function redact(text: string, values: Iterable<string>): string {
  let out = text;
  for (const value of values) {
    if (value.length < MIN_REDACTED_LENGTH) continue;
    for (const form of quotedForms(value)) if (out.includes(form)) out = out.split(form).join(MASK);
  }
  return out;
}
