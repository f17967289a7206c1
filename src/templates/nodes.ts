import { nunjucksNodes } from './nunjucks.js';

/**
 * The template AST: nunjucks' node classes where the meaning is the same, extensions where Jinja2
 * has more (tests without parentheses, namespaces, slices, `with`, `autoescape`, …).
 */

export interface Node {
  readonly typename: string;
  lineno: number;
  colno: number;
  [field: string]: any;
}

type NodeClass = new (lineno: number, colno: number, ...fields: unknown[]) => Node;
const base = nunjucksNodes as Record<string, NodeClass & { extend(name: string, props: object): NodeClass }>;
const Base = base.Node!;
const def = (name: string, fields: string[]): NodeClass => Base.extend(name, { fields });

export const N = {
  Root: base.Root!,
  NodeList: base.NodeList!,
  Or: base.Or!,
  And: base.And!,
  Not: base.Not!,
  Add: base.Add!,
  Sub: base.Sub!,
  Mul: base.Mul!,
  Div: base.Div!,
  FloorDiv: base.FloorDiv!,
  Mod: base.Mod!,
  Pow: base.Pow!,
  Neg: base.Neg!,
  Pos: base.Pos!,
  Concat: base.Concat!,
  Pair: base.Pair!,
  TemplateData: base.TemplateData!,
  Const: def('Const', ['value']),
  Name: def('Name', ['name']),
  Tuple: def('Tuple', ['items']),
  List: def('List', ['items']),
  Dict: def('Dict', ['items']), // items: Pair[]
  Getattr: def('Getattr', ['target', 'attr']),
  Getitem: def('Getitem', ['target', 'arg']),
  Slice: def('Slice', ['start', 'stop', 'step']),
  Call: def('Call', ['callee', 'args', 'kwargs', 'dynArgs', 'dynKwargs']),
  Filter: def('Filter', ['target', 'name', 'args', 'kwargs', 'dynArgs', 'dynKwargs']),
  Test: def('Test', ['target', 'name', 'args', 'kwargs', 'dynArgs', 'dynKwargs']),
  Keyword: def('Keyword', ['key', 'value']),
  CondExpr: def('CondExpr', ['test', 'expr1', 'expr2']),
  Compare: def('Compare', ['expr', 'ops']), // ops: Operand[]
  Operand: def('Operand', ['op', 'expr']),
  NSRef: def('NSRef', ['name', 'attr']),
  Output: def('Output', ['nodes', 'start', 'end']), // one `{{ … }}` (start/end: source offsets) or a text run
  For: def('For', ['target', 'iter', 'body', 'else_', 'test', 'recursive']),
  If: def('If', ['test', 'body', 'elifs', 'else_']),
  Assign: def('Assign', ['target', 'value']),
  AssignBlock: def('AssignBlock', ['target', 'filter', 'body']),
  Macro: def('Macro', ['name', 'args', 'defaults', 'body']),
  CallBlock: def('CallBlock', ['call', 'args', 'defaults', 'body']),
  FilterBlock: def('FilterBlock', ['filter', 'body']),
  With: def('With', ['targets', 'values', 'body']),
  Autoescape: def('Autoescape', ['value', 'body']),
  Block: def('Block', ['name', 'body']),
  Unsupported: def('Unsupported', ['tag']),
} as const;

/** A float literal keeps its type even when integral (`1.0`, `1e3`) until the evaluator sees it. */
export class FloatLiteral {
  constructor(readonly value: number) {}
}
