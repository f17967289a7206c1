import { nullProto } from './values.js';
import { TemplateError } from './errors.js';
import type { Node } from './nodes.js';
import { FILTERS, TESTS } from './builtins.js';

/**
 * Static checks run once per (field, source) at compile time: the availability matrix of docs/templates.md#fields-escaping-and-what-is-available
 * (standard connectors and composite steps), literal names for get_secret/get_variable, and
 * the facts the runtime needs before rendering (secret/variable names, `user` use, async signing).
 * Names bound by the template itself (`set`, `for`, macro parameters, `with`) shadow context names,
 * as they do in Jinja2, so `{% set response = 1 %}` in a header is not a use of `response`.
 */

export type TemplateField =
  | 'url' | 'header' | 'query' | 'auth' | 'request_body' | 'response_body'
  | 'composite_url' | 'composite_header' | 'composite_query' | 'composite_auth'
  | 'composite_request_body' | 'composite_response_body';

export const TEMPLATE_FIELDS: readonly TemplateField[] = [
  'url', 'header', 'query', 'auth', 'request_body', 'response_body',
  'composite_url', 'composite_header', 'composite_query', 'composite_auth',
  'composite_request_body', 'composite_response_body',
];

type Feature = 'get_secret' | 'get_variable' | 'jwt_encode' | 'now' | 'body' | 'response' | 'pathParams' | 'steps' | 'request';
type Matrix = Record<TemplateField, ReadonlySet<Feature>>;

const S = (...f: Feature[]) => new Set<Feature>(f);
/** What each field may use beyond `user.*`, `tenant_id` and the filters (available everywhere). */
const AVAILABLE: Matrix = {
  url: S('get_variable', 'jwt_encode', 'now', 'pathParams'),
  header: S('get_secret', 'get_variable', 'jwt_encode', 'now'),
  query: S('get_secret', 'get_variable', 'jwt_encode', 'now'),
  auth: S('get_secret', 'get_variable', 'jwt_encode', 'now'),
  request_body: S('jwt_encode', 'now', 'body'),
  response_body: S('now', 'response'),
  composite_url: S('get_variable', 'jwt_encode', 'now', 'steps', 'request'),
  composite_request_body: S('get_variable', 'jwt_encode', 'now', 'steps', 'request'),
  composite_header: S('get_secret', 'get_variable', 'jwt_encode', 'now', 'steps', 'request'),
  composite_query: S('get_secret', 'get_variable', 'jwt_encode', 'now', 'steps', 'request'),
  composite_auth: S('get_secret', 'get_variable', 'jwt_encode', 'now', 'steps', 'request'),
  composite_response_body: S('get_variable', 'now', 'steps', 'request', 'response'),
};

const FIELD_LABEL: Record<TemplateField, string> = {
  url: 'URL', header: 'header', query: 'query parameter', auth: 'authentication', request_body: 'request body',
  response_body: 'response body', composite_url: 'composite step URL', composite_header: 'composite step header',
  composite_query: 'composite step query parameter', composite_auth: 'composite step authentication',
  composite_request_body: 'composite step request body', composite_response_body: 'composite step response body',
};

const WHERE: Record<Feature, string> = {
  get_secret: 'headers, query parameters and authentication (for composite steps the same)',
  get_variable: 'the URL, headers, query parameters and authentication of a connector, and every composite step template',
  jwt_encode: 'every template except response bodies',
  now: 'every template',
  body: 'request body templates (composite steps use request.body_text / request.body_raw)',
  response: 'response body templates',
  pathParams: 'the connector URL',
  steps: 'composite step templates',
  request: 'composite step templates',
};

/** Context names and the feature each one needs. */
const NAME_FEATURE: Record<string, Feature> = nullProto({
  get_secret: 'get_secret',
  get_variable: 'get_variable',
  jwt_encode: 'jwt_encode',
  now: 'now',
  body_text: 'body',
  body_raw: 'body',
  response: 'response',
  pathParams: 'pathParams',
  steps: 'steps',
  request: 'request',
});

export interface Analysis {
  referencesUser: boolean;
  secretNames: string[];
  variableNames: string[];
  pathParamNames: string[];
  usesAsync: boolean;
  usesNow: boolean;
  /** Names the template reads without binding them itself (context names, globals and unknown ones), in first-use order. */
  freeNames: string[];
}

export function isAutoescapeField(field: TemplateField): boolean {
  return field === 'request_body' || field === 'response_body' || field === 'composite_request_body' || field === 'composite_response_body';
}

function fail(kind: 'syntax' | 'availability', message: string, node: Node): never {
  throw new TemplateError(kind, message, node.lineno + 1, node.colno + 1);
}

class Scope {
  private readonly names = new Set<string>();
  constructor(readonly parent: Scope | null) {}
  bind(name: string): void {
    this.names.add(name);
  }
  has(name: string): boolean {
    for (let s: Scope | null = this; s; s = s.parent) if (s.names.has(name)) return true;
    return false;
  }
}

export function analyze(root: Node, field: TemplateField): Analysis {
  const available = AVAILABLE[field];
  const secrets = new Set<string>();
  const variables = new Set<string>();
  const pathParams = new Set<string>();
  const result: Analysis = { referencesUser: false, secretNames: [], variableNames: [], pathParamNames: [], usesAsync: false, usesNow: false, freeNames: [] };
  const free = new Set<string>();
  /** Name nodes that are the callee of a well-formed get_secret('x') / get_variable('x') call. */
  const literalCallees = new Set<Node>();

  const bindTarget = (target: Node, scope: Scope) => {
    if (target.typename === 'Name') scope.bind(target.name);
    else if (target.typename === 'Tuple') for (const t of target.items as Node[]) bindTarget(t, scope);
  };

  const checkName = (node: Node, scope: Scope) => {
    const name: string = node.name;
    if (scope.has(name)) return;
    free.add(name);
    if (name === 'user') result.referencesUser = true;
    const feature = NAME_FEATURE[name];
    if (!feature) return;
    if (!available.has(feature)) {
      const what = feature === 'get_secret' || feature === 'get_variable' || feature === 'jwt_encode' || feature === 'now' ? `${name}()` : `'${name}'`;
      fail('availability', `${what} is not available in ${FIELD_LABEL[field]} templates; it can be used in ${WHERE[feature]}`, node);
    }
    if ((name === 'get_secret' || name === 'get_variable') && !literalCallees.has(node)) {
      fail('availability', `${name}() must be called directly with a quoted literal name, e.g. ${name}('api_key'), so the value can be resolved before rendering`, node);
    }
    if (name === 'jwt_encode') result.usesAsync = true;
    if (name === 'now') result.usesNow = true;
  };

  const visitAll = (nodes: (Node | null | undefined)[] | null | undefined, scope: Scope) => {
    if (nodes) for (const n of nodes) if (n) visit(n, scope);
  };

  const visitBody = (body: Node | null | undefined, scope: Scope) => {
    if (body) visitAll(body.children as Node[], scope);
  };

  const visit = (node: Node, scope: Scope): void => {
    switch (node.typename) {
      case 'Name':
        checkName(node, scope);
        return;
      case 'Const':
      case 'TemplateData':
        return;
      case 'Output':
        visitAll(node.nodes, scope);
        return;
      case 'Call': {
        const callee: Node = node.callee;
        if (callee.typename === 'Name' && (callee.name === 'get_secret' || callee.name === 'get_variable') && !scope.has(callee.name)) {
          const arg: Node | undefined = node.args[0];
          if (node.args.length !== 1 || node.kwargs.length > 0 || node.dynArgs || node.dynKwargs || arg?.typename !== 'Const' || typeof arg.value !== 'string') {
            fail('availability', `${callee.name}() takes exactly one quoted literal name, e.g. ${callee.name}('api_key'), so the value can be resolved before rendering`, node);
          }
          literalCallees.add(callee);
          checkName(callee, scope);
          (callee.name === 'get_secret' ? secrets : variables).add(arg.value);
          return;
        }
        if (callee.typename === 'Name' && callee.name === 'namespace' && !scope.has('namespace')) {
          // namespace() is fine; its arguments are ordinary expressions
        }
        visit(callee, scope);
        visitAll(node.args, scope);
        for (const kw of node.kwargs as Node[]) visit(kw.value, scope);
        if (node.dynArgs) visit(node.dynArgs, scope);
        if (node.dynKwargs) visit(node.dynKwargs, scope);
        return;
      }
      case 'Getattr': {
        const target: Node = node.target;
        if (target.typename === 'Name' && target.name === 'pathParams' && !scope.has('pathParams')) pathParams.add(node.attr);
        visit(target, scope);
        return;
      }
      case 'Getitem': {
        const target: Node = node.target;
        if (target.typename === 'Name' && target.name === 'pathParams' && !scope.has('pathParams') && node.arg.typename === 'Const' && typeof node.arg.value === 'string') {
          pathParams.add(node.arg.value);
        }
        visit(target, scope);
        visit(node.arg, scope);
        return;
      }
      case 'Filter':
        if (!(node.name in FILTERS)) fail('syntax', `No filter named '${node.name}'.`, node);
        if (node.target) visit(node.target, scope);
        visitAll(node.args, scope);
        for (const kw of node.kwargs as Node[]) visit(kw.value, scope);
        if (node.dynArgs) visit(node.dynArgs, scope);
        if (node.dynKwargs) visit(node.dynKwargs, scope);
        return;
      case 'Test':
        if (!(node.name in TESTS)) fail('syntax', `No test named '${node.name}'.`, node);
        visit(node.target, scope);
        visitAll(node.args, scope);
        for (const kw of node.kwargs as Node[]) visit(kw.value, scope);
        if (node.dynArgs) visit(node.dynArgs, scope);
        if (node.dynKwargs) visit(node.dynKwargs, scope);
        return;
      case 'Tuple':
      case 'List':
        visitAll(node.items, scope);
        return;
      case 'Dict':
        for (const p of node.items as Node[]) {
          visit(p.key, scope);
          visit(p.value, scope);
        }
        return;
      case 'Slice':
        visitAll([node.start, node.stop, node.step], scope);
        return;
      case 'CondExpr':
        visitAll([node.test, node.expr1, node.expr2], scope);
        return;
      case 'Compare':
        visit(node.expr, scope);
        for (const op of node.ops as Node[]) visit(op.expr, scope);
        return;
      case 'Or': case 'And': case 'Add': case 'Sub': case 'Mul': case 'Div': case 'FloorDiv': case 'Mod': case 'Pow': case 'Concat':
        visit(node.left, scope);
        visit(node.right, scope);
        return;
      case 'Not': case 'Neg': case 'Pos':
        visit(node.target, scope);
        return;
      case 'Assign':
        visit(node.value, scope);
        if (node.target.typename === 'NSRef') checkName({ ...node.target, typename: 'Name', name: node.target.name } as Node, scope);
        else bindTarget(node.target, scope);
        return;
      case 'AssignBlock': {
        visitBody(node.body, new Scope(scope));
        if (node.filter) visit(node.filter, scope);
        if (node.target.typename === 'NSRef') checkName({ ...node.target, typename: 'Name', name: node.target.name } as Node, scope);
        else bindTarget(node.target, scope);
        return;
      }
      case 'For': {
        visit(node.iter, scope);
        const inner = new Scope(scope);
        bindTarget(node.target, inner);
        inner.bind('loop');
        if (node.test) visit(node.test, inner);
        visitBody(node.body, inner);
        visitBody(node.else_, new Scope(scope));
        return;
      }
      case 'If':
        visit(node.test, scope);
        visitBody(node.body, scope);
        for (const e of node.elifs as Node[]) visit(e, scope);
        visitBody(node.else_, scope);
        return;
      case 'Macro': {
        scope.bind(node.name);
        visitAll(node.defaults, scope);
        const inner = new Scope(scope);
        for (const a of node.args as Node[]) inner.bind(a.name);
        for (const n of ['varargs', 'kwargs', 'caller']) inner.bind(n);
        visitBody(node.body, inner);
        return;
      }
      case 'CallBlock': {
        visit(node.call, scope);
        visitAll(node.defaults, scope);
        const inner = new Scope(scope);
        for (const a of node.args as Node[]) inner.bind(a.name);
        for (const n of ['varargs', 'kwargs']) inner.bind(n);
        visitBody(node.body, inner);
        return;
      }
      case 'FilterBlock':
        visit(node.filter, scope);
        visitBody(node.body, new Scope(scope));
        return;
      case 'With': {
        visitAll(node.values, scope);
        const inner = new Scope(scope);
        for (const t of node.targets as Node[]) bindTarget(t, inner);
        visitBody(node.body, inner);
        return;
      }
      case 'Autoescape':
        visit(node.value, scope);
        visitBody(node.body, new Scope(scope));
        return;
      case 'Block':
        visitBody(node.body, new Scope(scope));
        return;
      case 'NodeList':
      case 'Root':
        visitAll(node.children, scope);
        return;
      default:
        fail('syntax', `unsupported construct '${node.typename}'`, node);
    }
  };

  visit(root, new Scope(null));
  result.secretNames = [...secrets];
  result.variableNames = [...variables];
  result.pathParamNames = [...pathParams];
  result.freeNames = [...free];
  return result;
}
