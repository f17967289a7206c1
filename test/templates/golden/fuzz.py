#!/usr/bin/env python3
"""Differential fuzz corpus: random templates over a fixed context, rendered by real Jinja2.

    python3 test/templates/golden/fuzz.py

Generates FUZZ_CASES templates from a fixed seed (so the file is reproducible) by combining
literals, operators, filters, tests, loops, conditionals, `set`, namespaces and macros, renders
each with the same environment as render_golden.py and writes fuzz-expected.json, which
test/templates/fuzz.test.ts replays without Python.
"""
import json
import os
import random
import sys

sys.dont_write_bytecode = True  # no __pycache__ next to the corpus

sys.path.insert(0, os.path.dirname(__file__))
import render_golden as rg  # noqa: E402

SEED = 20261123
FUZZ_CASES = 1000
random.seed(SEED)
atoms = ["s[1:3]", "s[::-1]", "l[-1]", "'a,b'.split(',')", "'x'.join(['1', '2'])", "'{}-{}'.format(x, y)", "'%05.1f' % f", "d.get('k', 0)", "d.items() | list", "(d | dictsort)[0]", "{'b': x, 'a': [y]}", "range(1, 10, 3) | list", "'ab' * 2", "x // 2", "-x % 4", "f * 2", "y[0]", "s | length", "loop.index0 if loop is defined else 0", 'x', 'y', 'd', 'l', 's', 'n', 'f', 'none', 'true', '1', '2.5', '0', '-1', "'a'", "'<b>'", '[1, 2]', "{'k': 1}", '(1,)', 'range(3)', 'd.k', 'l[0]', 'l[1:]', "d['k']", 's.upper()', 'missing', "'%s'", '1e3', '7', '3.0', "'10'", "' pad '", 'l | length']
ops = [' + ', ' - ', ' * ', ' / ', ' // ', ' % ', ' ** ', ' ~ ', ' == ', ' != ', ' < ', ' >= ', ' in ', ' not in ', ' and ', ' or ']
filters = ['upper', 'lower', 'length', 'list', 'first', 'last', 'join', "join(',')", 'tojson', 'int', 'float', 'string', 'sort', 'unique | list', 'reverse | list', 'sum', 'default(1)', 'default(1, true)', 'round(1)', 'round', 'trim', 'e', 'safe', 'map("string") | list', 'batch(2) | list', 'dictsort', 'json_encode', 'base64_encode', 'title', 'capitalize', "replace('a', 'b')", 'truncate(5)', 'center(7)', 'abs', 'count', 'wordcount', 'pprint', 'urlencode', 'min', 'max', 'select("odd") | list', "reject('none') | list", 'slice(2) | list', 'string | length', 'float | round(2)', 'int * 2', 'format']
tests = ['defined', 'none', 'odd', 'even', 'string', 'number', 'iterable', 'divisibleby 2', 'in [1, "a"]', 'sameas none', 'mapping', 'lower', 'integer', 'float', 'sequence', 'true', 'boolean']
def expr(depth=0):
    r = random.random()
    if depth > 3 or r < 0.3: return random.choice(atoms)
    if r < 0.5: return expr(depth+1) + random.choice(ops) + expr(depth+1)
    if r < 0.68: return f"{expr(depth+1)} | {random.choice(filters)}"
    if r < 0.78: return f"{expr(depth+1)} is {'not ' if random.random() < .3 else ''}{random.choice(tests)}"
    if r < 0.85: return f"({expr(depth+1)})"
    if r < 0.92: return f"{expr(depth+1)} if {expr(depth+1)} else {expr(depth+1)}"
    return f"[{expr(depth+1)}, {expr(depth+1)}]"
def stmt(depth=0):
    r = random.random()
    if depth > 2 or r < 0.45: return "{{ " + expr() + " }}"
    if r < 0.6: return "{% for i in " + expr(1) + " %}{{ loop.index }}:" + stmt(depth+1) + "{% else %}E{% endfor %}"
    if r < 0.75: return "{% if " + expr(1) + " %}" + stmt(depth+1) + "{% elif " + expr(1) + " %}B{% else %}" + stmt(depth+1) + "{% endif %}"
    if r < 0.85: return "{% set v = " + expr(1) + " %}[{{ v }}]"
    if r < 0.9: return "{% set ns.a = " + expr(1) + " %}({{ ns.a }})"
    if r < 0.95: return "{% macro mm(a, b=2) %}<{{ a }}|{{ b }}|" + stmt(depth+1) + ">{% endmacro %}{{ mm(" + expr(1) + ") }}{{ mm(1, b=" + expr(1) + ") }}"
    return "{% for k, w in " + random.choice(["d.items()", "d | dictsort", "[(1, 2), (3, 4)]", "{'a': 1} | items"]) + " %}{{ k }}={{ w }}{{ ',' if not loop.last }}{% endfor %}"
ctx = {"x": 3, "y": "str", "d": {"k": 1, "items": [1]}, "l": [1, "a", {"k": 2}], "s": "héllo Wörld", "n": None, "f": 1.5}


# Typed templates: expressions built per value type, so most of them render (output semantics).
R = random.random
C = random.choice
_L1 = ['abs', 'round', 'round(1)', 'round(2, "ceil")', 'int', 'float', 'string | length', 'round | int', 'float | round(3)']
_L2 = ['upper', 'lower', 'title', 'capitalize', 'trim', 'e', 'string', 'reverse', 'center(12)', 'truncate(6, true)', 'truncate(5)', 'replace("a", "@")', 'urlencode', 'tojson', 'json_encode', 'base64_encode', 'wordcount | string', 'length | string', 'indent(2)', 'striptags', 'first', 'last', 'list | join("/")', 'format(7)', 'int | string', 'float | string', 'safe', 'forceescape']
_L3 = ['upper()', 'strip()', 'split() | join(",")', 'replace(" ", "_")', 'startswith("a") | string', 'zfill(6)', 'ljust(8, ".")', 'partition(" ") | join("|")', 'count("a") | string', 'title()', 'swapcase()', 'find("b") | string']
_L4 = ['sort', 'sort(reverse=true)', 'reverse | list', 'unique | list', 'map("string") | list', 'select | list', 'reject | list', 'batch(2) | list', 'slice(2) | list', 'list', 'first | string | list', 'dictsort', 'selectattr("age") | list', 'rejectattr("age", "gt", 30) | list', 'map(attribute="name", default="?") | list', 'sort(attribute="age") | list', 'groupby("age") | list', 'unique(attribute="age") | list', 'min | string | list', 'max | string | list']
def t_num(d=0):
    r = R()
    if d > 2 or r < 0.35: return C(['x', 'f', '0', '1', '-2', '2.5', '1e3', '0.1', '7', 'l | length', 's | length', 'd.k', 'nums | sum', 'nums | max', 'nums | min', '(nums | first)', 'loop.index if loop is defined else 0'])
    if r < 0.7: return f"({t_num(d+1)} {C(['+', '-', '*', '/', '//', '%'])} {C(['1', '2', '3', '0.5', '2.5', 'x'])})"
    if r < 0.85: return f"({t_num(d+1)} | {C(_L1)})"
    return f"({t_num(d+1)} if {t_cond(d+1)} else {t_num(d+1)})"
def t_text(d=0):
    r = R()
    if d > 2 or r < 0.35: return C(['s', 'y', "'a b c'", "'Mixed Case'", "'<x & y>'", "'  pad  '", "'ünï'", "''", "'42'", "'3.5'", "'%s!'", "'{}?'", 'u'])
    if r < 0.55: return f"({t_text(d+1)} | {C(_L2)})"
    if r < 0.7: return f"({t_text(d+1)} ~ {C([t_text(d+1), t_num(d+1)])})"
    if r < 0.8: return f"({t_text(d+1)}).{C(_L3)}"
    if r < 0.9: return f"('{C(['%s', '%5s', '%-4s|', '%r', '%.2f', '%d', '%03d'])}' % {C([t_text(d+1), t_num(d+1)])})"
    return f"('{C(['{}', '{:>7}', '{:^7}', '{:.3}', '{!r}', '{:,}', '{:.1f}', '{:05d}', '{:x}', '{:e}'])}'.format({C([t_text(d+1), t_num(d+1)])}))"
def t_lst(d=0):
    r = R()
    if d > 2 or r < 0.35: return C(['l', 'nums', 'words', 'people', '[]', '[1, 2, 3]', "['b', 'A', 'c']", 'range(5) | list', "d.items() | list", "d | list", '[none, 0, 1, ""]'])
    return f"({t_lst(d+1)} | {C(_L4)})"
def t_cond(d=0):
    r = R()
    if d > 2 or r < 0.4: return C(['x', 'n', 'e', 'l', 'd', 'true', 'none', 'missing', 's', 'nums'])
    if r < 0.6: return f"{t_num(d+1)} {C(['==', '!=', '<', '>=', '>'])} {t_num(d+1)}"
    if r < 0.75: return f"{t_text(d+1)} {C(['in', 'not in', '=='])} {t_text(d+1)}"
    if r < 0.9: return f"{C([t_num(d+1), t_text(d+1), t_lst(d+1)])} is {C(['defined', 'number', 'string', 'sequence', 'odd', 'even', 'divisibleby 2', 'none', 'iterable', 'mapping', 'integer', 'float', 'lower', 'upper'])}"
    return f"not {t_cond(d+1)}"
def t_out():
    return C([t_num, t_text, t_lst, t_cond])()
def t_stmt(d=0):
    r = R()
    if d > 2 or r < 0.4: return "{{ " + t_out() + " }}"
    if r < 0.55: return "{% for i in " + t_lst(1) + " %}{{ loop.index }}/{{ loop.length }}{{ '|' if not loop.last }}" + t_stmt(d+1) + "{% else %}-{% endfor %}"
    if r < 0.7: return "{% if " + t_cond(1) + " %}" + t_stmt(d+1) + "{% else %}" + t_stmt(d+1) + "{% endif %}"
    if r < 0.8: return "{% set v = " + t_out() + " %}<{{ v }}>"
    if r < 0.9: return "{% set ns.acc = ns.acc + [" + t_out() + "] %}{{ ns.acc | length }}"
    return "{% macro m(a, b='d') %}[{{ a }}:{{ b }}]{% endmacro %}{{ m(" + t_out() + ") }}{{ m(b=" + t_out() + ", a=1) }}"

typed_ctx = {"x": 3, "f": 1.25, "y": "str", "s": "héllo wörld", "u": "😀ab", "n": None, "e": "", "d": {"k": 1, "z": "zz"}, "l": [3, "a", 2.5],
             "nums": [4, 1, 3, 1], "words": ["pear", "Apple", "fig"], "people": [{"name": "a", "age": 30}, {"name": "B", "age": 20}, {"name": "c", "age": 30}, {"name": "d"}]}


CONTEXT = {**typed_ctx, **ctx}


def main():
    cases = []
    for i in range(FUZZ_CASES):
        if i % 2:
            src = "{% set ns = namespace(acc=[]) %}" + t_stmt() + t_stmt() + t_stmt()
        else:
            src = "{% set ns = namespace() %}" + stmt() + stmt()
        field = random.choice(["response_body", "header"])
        case = {"id": f"fz-{i:04d}", "template": src, "context": CONTEXT, "field": field}
        expected = rg.render(case)
        cases.append({"id": case["id"], "template": src, "field": field, "expected": expected})
    path = os.path.join(os.path.dirname(__file__), "fuzz-expected.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({"seed": SEED, "context": CONTEXT, "cases": cases}, fh, indent=0, ensure_ascii=False)
        fh.write("\n")
    print(f"{len(cases)} fuzz cases -> {path}")


if __name__ == "__main__":
    main()
