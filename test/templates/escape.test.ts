import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileTemplate, TemplateError, type TemplateField } from '../../src/templates/index.js';
import { LIMITS } from '../../src/templates/limits.js';

/**
 * Escape corpus: templates trying to reach JavaScript (constructors, prototypes, globals), Python
 * internals (dunders, attr(), format fields), other templates (include/import/extends), to change
 * shared data or to exhaust the process. Every one must end in a TemplateError — never a crash —
 * within a second, without reading anything outside the context or changing any prototype, except
 * where Jinja2's sandbox itself renders: an unsafe attribute is an Undefined that prints '' (and
 * fails only when used), and a mutating method changes the render's own data. Those payloads name
 * the exact output Jinja2 3.1 renders for them, so nothing else can come out.
 */

interface Payload {
  name: string;
  template: string;
  field?: TemplateField;
  /** What Jinja2's SandboxedEnvironment renders for it; absent: it fails. */
  renders?: string;
}

const P = (name: string, template: string, field?: TemplateField): Payload => ({ name, template, field });
const R = (name: string, template: string, renders: string): Payload => ({ name, template, renders });

const PAYLOADS: Payload[] = [
  // constructor chains from every kind of value
  P('str constructor', "{{ ''.constructor.constructor('return process')() }}"),
  P('list constructor', "{{ [].constructor.constructor('return process')() }}"),
  P('dict constructor', "{{ {}.constructor.constructor('return this')() }}"),
  P('int constructor', "{{ (1).constructor.constructor('return 1')() }}"),
  P('float constructor', "{{ (1.5).constructor.constructor('return 1')() }}"),
  P('bool constructor', "{{ true.constructor.constructor('return 1')() }}"),
  P('none constructor', "{{ none.constructor.constructor('return 1')() }}"),
  P('tuple constructor', "{{ (1, 2).constructor.constructor('return 1')() }}"),
  P('markup constructor', "{{ ('x' | safe).constructor.constructor('return 1')() }}"),
  P('function constructor', "{{ range.constructor.constructor('return process')() }}"),
  P('macro constructor', "{% macro m() %}{% endmacro %}{{ m.constructor.constructor('return process')() }}"),
  P('namespace constructor', "{{ namespace().constructor.constructor('return process')() }}"),
  P('loop constructor', "{% for x in [1] %}{{ loop.constructor.constructor('return process')() }}{% endfor %}"),
  P('bound method constructor', "{{ 'a'.upper.constructor.constructor('return process')() }}"),
  P('generator constructor', "{{ ([1] | map('string')).constructor.constructor('return 1')() }}"),
  P('context data constructor', "{{ response.constructor.constructor('return process')() }}"),
  P('secret value constructor', "{{ get_secret('t').constructor.constructor('return process')() }}", 'header'),
  P('subscript constructor', "{{ ''['constructor']['constructor']('return process')() }}"),
  P('computed constructor name', "{{ ''[('con' ~ 'structor')][('con' ~ 'structor')]('return process')() }}"),
  // prototype names
  R('__proto__ attribute', '{{ {}.__proto__ }}', ''),
  R('__proto__ subscript on str', "{{ ''['__proto__'] }}", ''),
  P('prototype pollution via set', "{% set ns = namespace() %}{% set ns.__proto__ = {'polluted': 1} %}{{ {}.__proto__.polluted }}"),
  P('prototype chain', '{{ [].prototype.constructor() }}'),
  P('__defineGetter__', "{{ {}.__defineGetter__('x', none) }}"),
  P('hasOwnProperty call', "{{ {}.hasOwnProperty('x') }}"),
  P('toString call', '{{ {}.toString() }}'),
  P('valueOf call', '{{ [].valueOf() }}'),
  // Python internals
  P('__class__ chain', "{{ ''.__class__.__mro__[1].__subclasses__() }}"),
  R('__class__', "{{ ''.__class__ }}", ''),
  P('__globals__ via cycler', "{{ cycler.__init__.__globals__.os.popen('id').read() }}"),
  P('__globals__ via lipsum', "{{ lipsum.__globals__['os'].popen('id').read() }}"),
  P('__globals__ via joiner', '{{ joiner.__init__.__globals__ }}'),
  P('self', '{{ self.__init__.__globals__ }}'),
  P('config', '{{ config.items() }}'),
  R('attr filter dunder', "{{ '' | attr('__class__') | attr('__mro__') }}", ''),
  R('attr filter escaped dunder', "{{ '' | attr('\\x5f\\x5fclass\\x5f\\x5f') }}", ''),
  P('attr filter constructor', "{{ {} | attr('constructor') | attr('constructor') }}"),
  R('format field dunder', "{{ '{0.__class__}'.format('') }}", ''),
  P('format field constructor', "{{ '{0.constructor.name}'.format('') }}"),
  R('bound method __self__', '{{ [].append.__self__ }}', ''),
  R('__mod__', "{{ 'a'.__mod__ }}", ''),
  // changing data: the render's own copy only (the context below is shared by every payload)
  R('mutating dict method', "{{ {}.update({'a': 1}) }}", 'None'),
  R('mutating list method', '{% set l = [] %}{{ l.append(1) }}', 'None'),
  R('update with a __proto__ key', "{% set _ = response.update({'__proto__': {'polluted': 1}}) %}{{ {}.polluted }}{{ response.__proto__.polluted }}", '1'),
  R('update with __proto__ as keyword', "{{ response.headers.update(__proto__={'polluted': 1}) }}{{ {}.polluted }}|{{ response.headers }}", 'None|{&#39;__proto__&#39;: {&#39;polluted&#39;: 1}}'),
  R('setdefault constructor', "{% set _ = response.setdefault('constructor', 1) %}{{ response.constructor.constructor }}", ''),
  R('clear the context', '{% set _ = response.clear() %}{{ response }}', '{}'),
  P('sort key from an unsafe attribute', '{% set l = [2, 1] %}{{ l.sort(key=lipsum.__globals__) }}'),
  P('mutating method __self__', '{{ [].append.__self__.append(1) }}'),
  P('update from __class__', '{% set d = {} %}{{ d.update(d.__class__) }}'),
  // host globals
  P('process', '{{ process.env }}'),
  P('globalThis', '{{ globalThis.process }}'),
  P('require', "{{ require('child_process') }}"),
  P('this', '{{ this.constructor }}'),
  P('Function', "{{ Function('return process')() }}"),
  P('request in standard connector', '{{ request.application.__globals__ }}'),
  // other templates
  P('include', "{% include '/etc/passwd' %}"),
  P('import', "{% import 'os' as os %}{{ os.system('id') }}"),
  P('from import', "{% from 'os' import system %}"),
  P('extends', "{% extends '/etc/passwd' %}"),
  // resource exhaustion
  P('range 10**9', '{{ range(10**9) }}'),
  P('range loop 10**9', '{% for i in range(10**9) %}{% endfor %}'),
  P('string repeat', "{{ 'x' * 10**9 }}"),
  P('list repeat', '{{ [0] * 10**9 }}'),
  P('huge int', '{{ 2 ** (10 ** 10) }}'),
  P('nested loops', '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}'),
  P('output flood', "{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}"),
  P('recursive macro', '{% macro r() %}{{ r() }}{% endmacro %}{{ r() }}'),
  P('recursive loop', '{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}'),
  P('format width', "{{ '{:>1000000000}'.format('x') }}"),
  P('percent width', "{{ '%1000000000s' | format('x') }}"),
  P('center width', "{{ 'x' | center(10**9) }}"),
  P('indent width', "{{ 'a\nb' | indent(10**9) }}"),
  P('zfill width', "{{ 'x'.zfill(10**9) }}"),
  P('batch fill', "{{ [1] | batch(10**9, 'x') | list }}"),
  P('slice count', '{{ [1] | slice(10**9) | list }}'),
  P('lipsum', '{{ lipsum(10**9) }}'),
  P('deep json', "{{ ('[' * 5000 ~ ']' * 5000) | from_json }}"),
  P('deep expression', `{{ ${'('.repeat(20000)}1${')'.repeat(20000)} }}`),
  P('doubling string', "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}"),
  P('pinning big strings', "{% set ns = namespace(l=[]) %}{% for i in range(100) %}{% set ns.l = ns.l + ['x' * 16000000] %}{% endfor %}{{ ns.l | length }}"),
  P('pinning replaced strings', "{% set big = 'x' * 8000000 %}{% set ns = namespace(l=[]) %}{% for i in range(100) %}{% set ns.l = ns.l + [big.replace('x', 'yy')] %}{% endfor %}"),
  P('doubling list', '{% set ns = namespace(l=[0]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l | length }}'),
];

describe('escape corpus', () => {
  const CANARY = 'LEAKED-FROM-HOST';
  const protoKeysBefore = Object.getOwnPropertyNames(Object.prototype).sort();
  beforeAll(() => {
    // Anything reading beyond own data would find these.
    (Object.prototype as Record<string, unknown>).polluted = CANARY;
    (globalThis as Record<string, unknown>).hostCanary = CANARY;
  });
  afterAll(() => {
    delete (Object.prototype as Record<string, unknown>).polluted;
    delete (globalThis as Record<string, unknown>).hostCanary;
  });

  it(`has at least 40 payloads (${PAYLOADS.length})`, () => {
    expect(PAYLOADS.length).toBeGreaterThanOrEqual(40);
  });

  /** One context for every payload, as the runtime shares data between requests. */
  const context = { response: { body: '{}', status_code: 200, headers: {} as Record<string, unknown> } };
  const contextBefore = JSON.stringify(context);

  for (const p of PAYLOADS) {
    it(`${p.renders === undefined ? 'refuses' : 'renders only what Jinja2 renders'}: ${p.name}`, async () => {
      const started = process.cpuUsage();
      let error: unknown;
      let output: string | undefined;
      try {
        const t = compileTemplate(p.template, p.field ?? 'response_body');
        output = await t.renderAsync({ vars: context, secrets: new Map([['t', 'secret-value']]) });
      } catch (err) {
        error = err;
      }
      const spent = process.cpuUsage(started);
      // CPU time: a busy machine stretches wall time, not the work a payload costs.
      const elapsed = (spent.user + spent.system) / 1000;
      expect(JSON.stringify(context), 'the shared context changed').toBe(contextBefore);
      if (p.renders !== undefined) {
        expect(error).toBeUndefined();
        expect(output).toBe(p.renders);
        expect(elapsed).toBeLessThan(1000);
        return;
      }
      expect(output, `rendered instead of failing: ${JSON.stringify(output?.slice(0, 200))}`).toBeUndefined();
      expect(error).toBeInstanceOf(TemplateError);
      const e = error as TemplateError;
      expect(e.line).toBeGreaterThanOrEqual(1);
      expect(e.column).toBeGreaterThanOrEqual(1);
      expect(e.message).not.toContain(CANARY);
      expect(e.message).not.toContain('secret-value');
      expect(elapsed).toBeLessThan(1000);
    });
  }

  it('never reads inherited or global properties, even where Jinja2 would print an Undefined', () => {
    const t = compileTemplate(
      '{{ d.polluted }}|{{ d["polluted"] }}|{{ l.polluted }}|{{ polluted }}|{{ hostCanary }}|{{ d | attr("polluted") }}|{{ "".polluted }}',
      'response_body',
    );
    expect(t.render({ vars: { d: { a: 1 }, l: [1] } })).toBe('||||||');
  });

  it('keeps working after every payload', () => {
    expect(compileTemplate('{{ 6 * 7 }} {{ [1, 2] | sum }}', 'response_body').render({ vars: {} })).toBe('42 3');
  });

  it('leaves Object.prototype untouched', () => {
    delete (Object.prototype as Record<string, unknown>).polluted;
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoKeysBefore);
    (Object.prototype as Record<string, unknown>).polluted = CANARY;
  });

  it('reads own data keys that happen to be named like JS internals', () => {
    const t = compileTemplate('{{ d.constructor }} {{ d["__proto__"] }} {{ d.prototype }} {{ d.toString }}', 'header');
    const d = JSON.parse('{"constructor": "Ferrari", "__proto__": "own", "prototype": "p", "toString": "s"}');
    expect(t.render({ vars: { d } })).toBe('Ferrari own p s');
  });
});

describe('work proportional to size reaches the budget', () => {
  it('stops repeated big allocations and parses quickly', () => {
    for (const template of [
      "{% for i in range(100000) %}{% set x = 'a' * 16000000 %}{% endfor %}",
      '{% for i in range(100000) %}{% set x = big | from_json %}{% endfor %}',
      '{% for i in range(100000) %}{% set x = [0] * 1000000 %}{% endfor %}',
    ]) {
      // CPU time, not wall time: what the budgets bound, and what a busy machine does not inflate.
      const started = process.cpuUsage();
      const t = compileTemplate(template, 'response_body');
      expect(() => t.render({ vars: { big: JSON.stringify(Array.from({ length: 200000 }, (_, i) => i)) } })).toThrow(TemplateError);
      const spent = process.cpuUsage(started);
      expect((spent.user + spent.system) / 1000).toBeLessThan(1500);
    }
  });
});

describe('the CPU-time budget of a render', () => {
  const budget = LIMITS.maxMillis;
  afterAll(() => {
    LIMITS.maxMillis = budget;
  });

  it('stops a render that spends more CPU than the budget, naming the budget', () => {
    // Cheap steps, well under the step budget, but more CPU than a 20 ms budget allows.
    LIMITS.maxMillis = 20;
    const t = compileTemplate('{% for i in range(90000) %}{% for j in range(10) %}{{ j }}{% endfor %}{% endfor %}', 'response_body');
    expect(() => t.render({ vars: {} })).toThrow('template ran too long (more than 20 ms)');
  });
});
