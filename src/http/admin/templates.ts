import type { FastifyPluginAsync } from 'fastify';
import { AppError, BadRequestError } from '../../errors.js';
import type { Services } from '../../services.js';
import { TEMPLATE_FIELDS, TemplateError, type TemplateField } from '../../templates/index.js';
import { DEFAULT_RENDER_FIELD, renderWithContext } from '../../templates/tooling.js';
import { ERROR_RESPONSES, strictValidatorCompiler } from './openapi.js';

/**
 * `POST /admin/v1/templates/render` `{template, context, field?}` (docs/admin-api.md): renders with the
 * context's keys as variables and the functions `field` allows. 200 `{output}`; a template error is
 * 422 `{error: {code: "TEMPLATE_ERROR", message, line, column}}`. No tenant store is consulted:
 * get_secret()/get_variable() leave their literal expression (docs/templates.md).
 */
export const templateRoutes = (_services: Services): FastifyPluginAsync =>
  async (app) => {
    app.setValidatorCompiler(strictValidatorCompiler);
    app.post<{ Body: { template: string; context?: unknown; field?: TemplateField } }>(
      '/templates/render',
      {
        schema: {
          summary: 'Render one template with a JSON context',
          tags: ['templates'],
          body: {
            type: 'object',
            required: ['template'],
            additionalProperties: false,
            properties: {
              template: { type: 'string', description: 'Jinja2 template source' },
              context: { type: 'object', description: 'template variables (any JSON object); default {}' },
              field: { type: 'string', enum: [...TEMPLATE_FIELDS], default: DEFAULT_RENDER_FIELD, description: 'decides the functions available and autoescaping' },
            },
          },
          response: {
            200: { type: 'object', required: ['output'], properties: { output: { type: 'string' } } },
            ...ERROR_RESPONSES,
          },
        },
      },
      async (request) => {
        const { template, context = {}, field = DEFAULT_RENDER_FIELD } = request.body;
        try {
          return { output: await renderWithContext(template, context, field) };
        } catch (err) {
          if (err instanceof TemplateError) {
            throw new AppError(422, 'TEMPLATE_ERROR', err.message, undefined, { line: err.line, column: err.column });
          }
          if (err instanceof TypeError) throw new BadRequestError('INVALID_REQUEST', err.message);
          throw err;
        }
      },
    );
  };
