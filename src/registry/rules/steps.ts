import { templatedFields } from './fields.js';
import { scanTemplate, variableReferences } from './template-scan.js';
import { isRecord, type Rule } from './types.js';

/**
 * Composite steps (docs/runtime.md#composite-connectors): step names are unique within their composite, and a step's templates
 * read `steps.<name>` only of steps that ran before it (steps run in order; a later or unknown step
 * would silently render as nothing).
 */
export const compositeStepsRule: Rule = (doc, _options, report) => {
  for (const composite of doc.composites) {
    const steps = composite.value.steps;
    if (!Array.isArray(steps)) continue;
    const names = steps.map((s) => (isRecord(s) && typeof s.name === 'string' ? s.name : undefined));
    const firstIndex = new Map<string, number>();
    names.forEach((name, i) => {
      if (name === undefined) return;
      const first = firstIndex.get(name);
      if (first === undefined) firstIndex.set(name, i);
      else {
        report({
          path: `${composite.path}/steps/${i}/name`,
          at: 'value',
          message: `duplicate step name "${name}": steps/${first} already uses it; step names must be unique within a composite connector`,
        });
      }
    });
    steps.forEach((step, i) => {
      if (!isRecord(step)) return;
      const earlier = new Set(names.slice(0, i).filter((n): n is string => n !== undefined));
      for (const f of templatedFields({ kind: 'step', path: `${composite.path}/steps/${i}`, value: step })) {
        for (const ref of variableReferences(scanTemplate(f.source), 'steps')) {
          if (ref.member === undefined || earlier.has(ref.member)) continue;
          const laterIndex = names.indexOf(ref.member);
          let message: string;
          if (laterIndex === i) message = `steps.${ref.member} is this step itself, whose result does not exist yet: only earlier steps can be read`;
          else if (laterIndex > i) message = `steps.${ref.member} refers to a later step (steps/${laterIndex}); steps run in order, so only earlier steps can be read`;
          else {
            const hyphenated = names.find((n) => n !== undefined && n.startsWith(`${ref.member}-`));
            message = hyphenated !== undefined
              ? `there is no step "${ref.member}": names with hyphens need brackets, e.g. steps['${hyphenated}']`
              : `there is no step "${ref.member}" before this one (earlier steps: ${[...earlier].join(', ') || 'none'})`;
          }
          report({ path: f.path, at: { index: ref.start }, message });
        }
      }
    });
  }
};
