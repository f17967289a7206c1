import { createRequire } from 'node:module';

/**
 * The parts of nunjucks this engine uses — its tokenizer, AST node classes and parser — loaded by
 * module path instead of through the package's index. The index also loads nunjucks' runtime,
 * whose SafeString.prototype is an object created with String.prototype as its prototype; once
 * such an object exists, V8 (Node 20) takes a slower path for charCodeAt and slice on every string
 * in the process (3x and 2.4x measured; HTML escaping 2.5x). Nothing here needs the runtime.
 */
const require = createRequire(import.meta.url);

export const nunjucksLexer = require('nunjucks/src/lexer') as unknown;
export const nunjucksNodes = require('nunjucks/src/nodes') as unknown;
export const nunjucksParser = require('nunjucks/src/parser') as unknown;
