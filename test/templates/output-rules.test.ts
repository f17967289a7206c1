import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileTemplate } from '../../src/templates/index.js';

/**
 * docs/templates.md "Output rules that surprise people": the worked reshape examples are rendered
 * from the doc itself, by Gatehouse and by Python's Jinja2 (SandboxedEnvironment, autoescape), and
 * must print exactly the output the doc shows — so the examples cannot drift from the engine.
 */

const doc = readFileSync(fileURLToPath(new URL('../../docs/templates.md', import.meta.url)), 'utf8');
const section = doc.slice(doc.indexOf('## Output rules that surprise people'), doc.indexOf('\n## ', doc.indexOf('## Output rules that surprise people') + 5));
const context = JSON.parse(/```json\n(.*)\n```/.exec(section)![1]!) as Record<string, unknown>;
const examples = [...section.matchAll(/```jinja\n([\s\S]*?)```\n\n→ `(.*)`/g)].map((m) => ({ template: m[1]!, output: m[2]! }));

const PYTHON = `
import json, sys
from jinja2.sandbox import SandboxedEnvironment
env = SandboxedEnvironment(autoescape=True)
env.filters['from_json'] = json.loads
job = json.load(sys.stdin)
print(json.dumps([env.from_string(t).render(**job['context']) for t in job['templates']]))
`;

describe('docs/templates.md output rules', () => {
  it('has the three worked examples and their context', () => {
    expect(examples).toHaveLength(3);
    expect(section).toContain('| tojson');
  });

  it.each(examples.map((e, i) => [i + 1, e] as const))('example %i renders what the doc shows', (_n, { template, output }) => {
    expect(compileTemplate(template, 'response_body').render({ vars: context })).toBe(output);
  });

  it("prints a dict as Jinja2 does: its Python repr, HTML-escaped", () => {
    const repr = compileTemplate('{{ response.body | from_json }}', 'response_body').render({ vars: context });
    expect(repr.startsWith('{&#39;items&#39;: [{&#39;id&#39;: 1')).toBe(true);
    expect(repr).toContain('&#39;private&#39;: False');
  });

  it("Python's Jinja2 prints the same outputs", () => {
    const outputs = JSON.parse(
      execFileSync('python3', ['-c', PYTHON], { input: JSON.stringify({ context, templates: examples.map((e) => e.template) }) }).toString(),
    ) as string[];
    expect(outputs).toEqual(examples.map((e) => e.output));
  });
});
