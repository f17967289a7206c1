import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { CommandModule, Io } from '../cli.js';
import { TEMPLATE_FIELDS } from './analyze.js';
import { TemplateError } from './errors.js';
import { DEFAULT_RENDER_FIELD, isTemplateField, renderWithContext } from './tooling.js';

/**
 * `gatehouse render --template FILE --context FILE [--field F]` (README.md): prints the output;
 * a template error exits 1 with `LINE:COL: message`. Needs neither Redis nor keys.
 */
const RENDER_HELP = `usage: gatehouse render --template FILE --context FILE [--field F]

Renders one template with Gatehouse's Jinja2 dialect and prints the output. Needs neither Redis
nor keys.
  --template FILE  the template text
  --context FILE   a JSON object: its keys are the template's variables
  --field F        which field's functions exist: ${TEMPLATE_FIELDS.join(', ')}
                   (default ${DEFAULT_RENDER_FIELD})
  exit 0  rendered
  exit 1  a template error (printed as LINE:COL: message), or a file cannot be read or parsed
  exit 2  usage error
`;

export async function renderCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { template: { type: 'string' }, context: { type: 'string' }, field: { type: 'string', default: DEFAULT_RENDER_FIELD } },
    strict: true,
  });
  if (values.template === undefined || values.context === undefined) {
    io.stderr.write('gatehouse render: --template FILE and --context FILE are required\n');
    return 2;
  }
  const field = values.field ?? DEFAULT_RENDER_FIELD;
  if (!isTemplateField(field)) {
    io.stderr.write(`gatehouse render: --field must be one of ${TEMPLATE_FIELDS.join(', ')} (got "${field}")\n`);
    return 2;
  }
  let template: string;
  let contextText: string;
  try {
    template = await readFile(values.template, 'utf8');
    contextText = await readFile(values.context, 'utf8');
  } catch (err) {
    io.stderr.write(`gatehouse render: ${(err as Error).message}\n`);
    return 1;
  }
  let context: unknown;
  try {
    context = JSON.parse(contextText.charCodeAt(0) === 0xfeff ? contextText.slice(1) : contextText);
  } catch (err) {
    io.stderr.write(`gatehouse render: ${values.context} is not valid JSON: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    const output = await renderWithContext(template, context, field);
    io.stdout.write(output);
    return 0;
  } catch (err) {
    if (err instanceof TemplateError) {
      io.stderr.write(`${err.line}:${err.column}: ${err.message}\n`);
      return 1;
    }
    if (err instanceof TypeError) {
      io.stderr.write(`gatehouse render: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

export const renderCommandModule: CommandModule = { run: renderCommand, help: RENDER_HELP };
