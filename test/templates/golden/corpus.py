"""The golden corpus: templates + contexts rendered by real Jinja2 (render_golden.py).

Each case: id, template, optional context (JSON data), field (default response_body, which
autoescapes; header/url/query/auth do not), secrets, variables, now, bytes ({name: text} passed
as Python bytes / bytesValue). Ids are stable: docs/templates.md and the test name them.
"""
import json

CASES = []
_counters = {}


def add(group, template, context=None, id=None, **kw):
    _counters[group] = _counters.get(group, 0) + 1
    case = {"id": id or f"{group}-{_counters[group]:03d}", "template": template}
    if context is not None:
        case["context"] = context
    case.update(kw)
    CASES.append(case)


def hdr(group, template, context=None, **kw):
    add(group, template, context, field="header", **kw)


# ---------------------------------------------------------------- documented examples: request and response transformation, filtering, template variables, composite steps
USER = {"id": 42, "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "username": "ada",
        "profile_fields": {"42": "Engineering", "7": "Berlin"}}
ANON = {"id": None, "email": None, "first_name": None, "last_name": None, "username": None, "profile_fields": {}}
ORDER = json.dumps({"order": {"id": "ord-1", "total": 99.5, "items": [{"sku": "a", "qty": 2}]}})

add("ref", '{ "tenant_id": "{{ tenant_id }}", "user_email": "{{ user.email }}", "original_payload": "{{ body_text }}" }',
    {"tenant_id": "acme", "user": USER, "body_text": '{"name": "Monstera", "size": "M"}'}, field="request_body")
add("ref", '{ "tenant_id": "{{ tenant_id }}", "order_id": "{{ (body_text | from_json).order.id }}", "order_total": {{ (body_text | from_json).order.total }} }',
    {"tenant_id": "acme", "body_text": ORDER}, field="request_body")
add("ref", "{{ body_text | from_json }}", {"body_text": ORDER}, field="request_body")
add("ref", "{{ body_text }}|{{ body_raw }}", {"body_text": None, "body_raw": None}, field="request_body")
add("ref", "{{ body_text | default('', true) }}|{{ body_raw }}", {"body_text": "x y"}, bytes={"body_raw": "x y"}, field="request_body")
add("ref", "{{ body_raw }}", bytes={"body_raw": "it's \"q\"\n"}, field="request_body")
add("ref", "{{ user.email }}", {"user": USER})
add("ref", "{{ user.profile_fields.by_id(42) }}", {"user": USER})
add("ref", "{{ user.profile_fields.by_id(7) }}/{{ user.profile_fields.by_id(8) }}", {"user": USER}, field="query")
add("ref", "{{ user.email }}|{{ user.id }}|{{ user.email | default('') }}", {"user": ANON})
add("ref", "{{ user.first_name | default('guest', true) }}", {"user": ANON})
add("ref", "{{ (body_text | from_json).order.id }}", {"body_text": ORDER}, field="request_body")
hdr("ref", "{{ get_secret('api_key') }}", secrets={"api_key": "k-123"})
hdr("ref", "Bearer {{ get_secret('my_token') }}", secrets={"my_token": "t&<ok>"})
hdr("ref", "Bearer {{ get_secret('nope') }}", id="ref-missing-secret")
add("ref", "https://{{ get_variable('portal_host') }}/api/v2", field="url", variables={"portal_host": "portal.example.com"})
add("ref", "https://{{ get_variable('portal_host') | default('app.example.com', true) }}/api/v2", field="url")
add("ref", "https://{{ get_variable('portal_host') | default('app.example.com', true) }}/api/v2", field="url", variables={"portal_host": "p.example.com"})
add("ref", "{{ get_variable('instance_url') }}/services/data", field="url", variables={"instance_url": "https://x.my.salesforce.com"})
add("ref", "https://api.example.com/users/{{ user.id }}/profile", {"user": USER}, field="url")
add("ref", "https://api.example.com/ideas/{{ pathParams.idea_id }}/endorsements", {"pathParams": {"idea_id": "42"}}, field="url")
hdr("ref", "{{ jwt_encode({'sub': user.email, 'exp': now(3600)}, get_secret('jwt_secret'), 'HS256') }}", {"user": USER},
    secrets={"jwt_secret": "s3cr3t"}, now=1700000000)
hdr("ref", "{{ jwt_encode({'sub': user.email, 'exp': now(3600)}, get_secret('jwt_secret'), 'HS256', {'kid': 'my-key-id'}) }}",
    {"user": USER}, secrets={"jwt_secret": "s3cr3t"}, now=1700000000)
add("ref", "{% set data = response.body | from_json %}{{ data.results[0].name }}",
    {"response": {"body": '{"results": [{"name": "Widget"}]}', "status_code": 200, "headers": {"content-type": "application/json"}}})
add("ref", '{% if response.status_code >= 400 %}{ "error": true, "upstream_status": {{ response.status_code }} }{% endif %}',
    {"response": {"body": "oops", "status_code": 503, "headers": {}}})
add("ref", '{% if response.status_code >= 400 %}{ "error": true, "upstream_status": {{ response.status_code }} }{% endif %}',
    {"response": {"body": "{}", "status_code": 200, "headers": {}}})
add("ref", "{{ response.headers['content-type'] }}", {"response": {"body": "", "status_code": 200, "headers": {"content-type": "text/html; charset=utf-8"}}})
add("ref", "{{ now() }} {{ now(3600) }} {{ now(-60) }}", now=1700000000)
add("ref", "{{ (steps.contact.body | from_json).id }}", {"steps": {"contact": {"body": '{"id": 17, "name": "x"}', "status_code": 200, "headers": {}}}}, field="composite_query")
add("ref", "{{ steps['fetch-user'].status_code }}", {"steps": {"fetch-user": {"body": "", "status_code": 201, "headers": {}}}}, field="composite_url")
add("ref", "{{ (request.body_text | from_json).q if request.body_text else '' }}", {"request": {"body_text": None, "body_raw": None, "headers": {"Content-Type": "application/json"}, "query_parameters": {}}}, field="composite_request_body")
add("ref", "{{ (request.body_text | from_json).q if request.body_text else '' }}", {"request": {"body_text": '{"q": "w<x"}', "body_raw": None, "headers": {}, "query_parameters": {}}}, field="composite_request_body")
add("ref", "{{ request.query_parameters.page }}|{{ request.query_parameters.missing }}", {"request": {"body_text": None, "headers": {}, "query_parameters": {"page": "2"}}}, field="composite_url")

CONTENTFUL = json.dumps({"items": [{"sys": {"id": "entry-001"}, "fields": {"title": "Widget Docs"}},
                                   {"sys": {"id": "entry-002"}, "fields": {"title": "Getting Started"}}]})
add("recipe", """{%- set data = response.body | from_json -%}
{%- set ns = namespace(items=[]) -%}
{%- for entry in data['items'] -%}
  {%- set ns.items = ns.items + [{'id': entry.sys.id, 'title': entry.fields.title}] -%}
{%- endfor -%}
{{ ns.items | json_encode }}""", {"response": {"body": CONTENTFUL, "status_code": 200, "headers": {}}}, id="recipe-reshape")
ASSETS = json.dumps({"items": [
    {"sys": {"id": "entry-001"}, "fields": {"title": "First Post", "image": {"sys": {"id": "asset-1"}}}},
    {"sys": {"id": "entry-002"}, "fields": {"title": "Second Post", "image": {"sys": {"id": "asset-2"}}}}],
    "includes": {"Asset": [{"sys": {"id": "asset-2"}, "fields": {"file": {"url": "//images.ctfassets.net/def.jpg"}}},
                           {"sys": {"id": "asset-1"}, "fields": {"file": {"url": "//images.ctfassets.net/abc.jpg"}}}]}})
add("recipe", """{%- set data = response.body | from_json -%}
{%- set ns = namespace(items=[]) -%}
{%- for entry in data['items'] -%}
  {%- set matching = data.includes.Asset | selectattr('sys.id', 'equalto', entry.fields.image.sys.id) | list -%}
  {%- set url = 'https:' ~ matching[0]['fields']['file']['url'] if matching else '' -%}
  {%- set ns.items = ns.items + [{'id': entry.sys.id, 'title': entry.fields.title, 'imageUrl': url}] -%}
{%- endfor -%}
{{ ns.items | json_encode }}""", {"response": {"body": ASSETS, "status_code": 200, "headers": {}}}, id="recipe-assets")
PUBLISHED = json.dumps({"items": [{"id": "a", "title": "Alpha", "published": True}, {"id": "b", "title": "Beta", "published": False},
                                  {"id": "c", "title": "Gamma", "published": True}]})
add("recipe", """{%- set data = response.body | from_json -%}
{%- set ns = namespace(items=[]) -%}
{%- for item in data['items'] if item.published -%}
  {%- set ns.items = ns.items + [{'id': item.id, 'title': item.title}] -%}
{%- endfor -%}
{{ ns.items | json_encode }}""", {"response": {"body": PUBLISHED, "status_code": 200, "headers": {}}}, id="recipe-filter")
add("recipe", """{%- set data = response.body | from_json -%}
{{ data['items'] | selectattr('published') | map(attribute='title') | list | tojson }}""", {"response": {"body": PUBLISHED, "status_code": 200, "headers": {}}})
add("recipe", "{% set data = response.body | from_json %}{{ data.items | length }}", {"response": {"body": PUBLISHED, "status_code": 200, "headers": {}}}, id="recipe-items-method")
add("recipe", "{% set data = response.body | from_json %}{{ data['items'] | length }}", {"response": {"body": PUBLISHED, "status_code": 200, "headers": {}}})
add("recipe", "{% set data = response.body | from_json %}{{ data.keys() | list }}", {"response": {"body": PUBLISHED, "status_code": 200, "headers": {}}})
add("recipe", "{% set result = [] %}{% for x in [1, 2] %}{% set result = result + [x] %}{% endfor %}{{ result }}", id="recipe-loop-scoped")
add("recipe", "{{ ''.__class__ }}", id="recipe-sandbox-class")
COUNTRIES = json.dumps([{"name": n, "population": p} for n, p in
                        [("A", 5), ("B", 50), ("C", 15), ("D", 40), ("E", 1), ("F", 30), ("G", 20)]])
add("recipe", """{%- set countries = response.body | from_json | sort(attribute='population', reverse=true) -%}
{%- set top = countries[:5] -%}
{{ {'count': top | length, 'names': top | map(attribute='name') | list, 'largest': top[0]} | tojson }}""",
    {"response": {"body": COUNTRIES, "status_code": 200, "headers": {}}}, id="recipe-schoolkeep")
GROUPS = json.dumps({"categories": [{"id": 1, "name": "Public <A>", "slug": "pub-a", "is_public": True},
                                    {"id": 2, "name": "Secret", "slug": "sec", "is_public": False},
                                    {"id": 3, "name": "O'Brien \"B\"", "slug": "pub-b", "is_public": True}]})
FILTER_TPL = """{%- if response.status_code == 200 -%}
{%- set tree = response.body | from_json -%}
[{%- for group in tree.categories if group.is_public -%}
{"id": {{ group.id }}, "name": {{ group.name | tojson }}, "slug": {{ group.slug | tojson }}}{% if not loop.last %},{% endif %}
{%- endfor -%}]
{%- else -%}
{ "error": true, "status": {{ response.status_code }} }
{%- endif -%}"""
add("recipe", FILTER_TPL, {"response": {"body": GROUPS, "status_code": 200, "headers": {}}}, id="recipe-groups")
add("recipe", FILTER_TPL, {"response": {"body": "<html>bad gateway</html>", "status_code": 502, "headers": {}}}, id="recipe-groups-error")
add("recipe", "{% set matching = items | selectattr('id', 'equalto', 'b') | list %}{{ matching[0]['url'] if matching else '' }}",
    {"items": [{"id": "a", "url": "https://a"}, {"id": "b", "url": "https://b?x=1&y=2"}]})
add("recipe", "{% set matching = items | selectattr('id', 'equalto', 'z') | list %}[{{ matching[0]['url'] if matching else '' }}]",
    {"items": [{"id": "a", "url": "https://a"}]})
add("recipe", '{"name": "{{ data.name }}"}', {"data": {"name": "Tom \"T\" & <Jerry>"}})
add("recipe", '{"name": {{ data.name | tojson }}}', {"data": {"name": "Tom \"T\" & <Jerry>"}})
add("recipe", "{{ response.body | from_json | json_encode }}", {"response": {"body": '{"b": 1, "a": [1.0, 2.5, null, true], "c": "\\u00e9<"}', "status_code": 200, "headers": {}}})
add("recipe", "{{ (response.body | from_json).id }} {{ (response.body | from_json).big }}", {"response": {"body": '{"id": 1234567890123456789, "big": 10.0}', "status_code": 200, "headers": {}}})
add("recipe", "{{ response.body | from_json }}", {"response": {"body": "not json", "status_code": 200, "headers": {}}}, id="recipe-bad-json")

# ---------------------------------------------------------------- literals and printing
for t in ["{{ 42 }}", "{{ -7 }}", "{{ 3.0 }}", "{{ 2.5 }}", "{{ 1e3 }}", "{{ 1.5e-7 }}", "{{ 0.1 + 0.2 }}", "{{ 1_000_000 }}",
          "{{ 0x1F }}", "{{ 0o17 }}", "{{ 0b101 }}", "{{ 10 ** 20 }}", "{{ 2 ** 64 }}", "{{ 1e16 }}", "{{ 1e15 }}", "{{ 0.0001 }}",
          "{{ 0.00001 }}", "{{ 123456789.125 }}", "{{ -0.0 }}", "{{ 1/3 }}", "{{ 2/3 }}", "{{ 100 / 7 }}",
          "{{ true }} {{ True }} {{ false }} {{ none }} {{ None }}", "{{ 'single' }} {{ \"double\" }}", "{{ 'a' 'b' \"c\" }}",
          "{{ 'tab\\tnew\\nline' }}", "{{ 'x\\x41\\u00e9\\\\' }}", "{{ 'unknown \\d escape' }}", "{{ [1, 2, 3] }}", "{{ [] }}",
          "{{ (1, 2) }}", "{{ (1,) }}", "{{ () }}", "{{ {} }}", "{{ {'a': 1, 'b': [1, 2]} }}", "{{ {1: 'one', 2.5: 'x', none: 0} }}",
          "{{ ['it\\'s', \"q\\\"uote\", 'both\\'\"'] }}", "{{ [none, true, 1.0, 'é'] }}", "{{ 1, 2 }}", "{{ {'a': {'b': {'c': 1}}} }}",
          "{{ [[1, [2, [3]]]] }}", "{{ (1, (2, 3)) }}", "{{ 'ünï©ødé ✓' }}", "{{ '\\u2028' }}", "{{ [1, 'a'] ~ '' }}"]:
    add("lit", t)
add("lit", "{{ x }}|{{ y }}|{{ z }}", {"x": 1.5, "y": 10, "z": "s"})
# Context numbers beyond 2**53 cannot survive JSON.parse on the TypeScript side; exact big ints come from from_json.
add("lit", "{{ nested }}", {"nested": {"list": [1, {"k": None}], "t": True, "s": "it's"}})

# ---------------------------------------------------------------- operators
for t in ["{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 // -2 }} {{ 7.5 // 2 }}", "{{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 7.5 % 2 }} {{ -7.5 % 2 }}",
          "{{ 2 ** 10 }} {{ 2 ** -1 }} {{ 2.0 ** 3 }} {{ (-8) ** 2 }}", "{{ 1 + 2 * 3 - 4 / 2 }}", "{{ (1 + 2) * 3 }}",
          "{{ 'ab' + 'cd' }} {{ 'ab' * 3 }} {{ 3 * 'x' }}", "{{ [1] + [2, 3] }} {{ [0] * 3 }} {{ (1,) + (2,) }}",
          "{{ 1 ~ 2 ~ 'x' ~ none ~ true }}", "{{ 'a' ~ [1] }}", "{{ -(3) }} {{ +3 }} {{ - -3 }}", "{{ 10 - 2 - 3 }}",
          "{{ 2 ** 3 ** 2 }}", "{{ -2 ** 2 }}", "{{ 1 + true }}", "{{ 10 / 4 }} {{ 10 / 5 }} {{ 1e300 * 10 }}",
          "{{ 0.1 * 3 }}", "{{ 9007199254740993 + 1 }}", "{{ 123456789012345678901234567890 * 3 }}", "{{ 5 // 0 }}",
          "{{ 5 / 0 }}", "{{ 5 % 0 }}", "{{ 'a' + 1 }}", "{{ 1 + 'a' }}", "{{ [1] + (2,) }}", "{{ 'a' - 'b' }}", "{{ -'a' }}",
          "{{ 'x' * 2.0 }}", "{{ none + 1 }}", "{{ 1 == 1.0 }} {{ 1 == true }} {{ 'a' == 'a' }} {{ [1,2] == [1,2] }} {{ (1,2) == [1,2] }}",
          "{{ {'a': 1} == {'a': 1.0} }} {{ none == none }} {{ none == 0 }}", "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 < 3 > 2 }}",
          "{{ 'a' < 'b' }} {{ 'B' < 'a' }} {{ [1, 2] < [1, 3] }} {{ (1, 2) < (1, 2, 0) }}", "{{ 1 < 'a' }}", "{{ none < 1 }}",
          "{{ 1 <= 1 }} {{ 2 >= 3 }} {{ 1 != 2 }} {{ 1.5 >= 1 }}", "{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }}",
          "{{ 1 in 'abc' }}", "{{ 'x' in none }}", "{{ 1 and 2 }} {{ 0 and 2 }} {{ 0 or 'x' }} {{ '' or [] }} {{ none or 0 }}",
          "{{ not 0 }} {{ not [] }} {{ not 'a' }} {{ not none }}", "{{ 'yes' if [] else 'no' }} {{ 'yes' if {} else 'no' }} {{ 'yes' if 0.0 else 'no' }} {{ 'yes' if ' ' else 'no' }}",
          "{{ 'a' if false }}|", "{{ 'a' if false else 'b' if true else 'c' }}", "{{ 1 if 2 > 1 else 0 }}",
          "{{ (1, 2)[0] }} {{ [1, 2, 3][-1] }} {{ 'abc'[1] }} {{ 'abc'[-1] }}", "{{ [1, 2][5] }}|{{ 'ab'[9] }}",
          "{{ 'hello'[1:3] }} {{ 'hello'[::-1] }} {{ 'hello'[::2] }} {{ [1,2,3,4][1:] }} {{ [1,2,3,4][:-1] }} {{ [1,2,3,4][-2:] }}",
          "{{ [1,2,3,4,5][::2] }} {{ [1,2,3,4,5][4:1:-1] }} {{ (1,2,3)[1:] }} {{ range(10)[2:5] | list }}",
          "{{ l.1 }} {{ l.0 }}", "{{ 'x' ~ 1.0 }}", "{{ 2 * 0.5 }} {{ 3 - 1.0 }}", "{{ 1e2 == 100 }}"]:
    add("op", t, {"l": ["a", "b"]} if "l." in t else None)

# ---------------------------------------------------------------- variables, attributes, undefined
for t, ctx in [("{{ missing }}|", {}), ("{{ missing.attr }}", {}), ("{{ d.missing }}|{{ d['missing'] }}", {"d": {"a": 1}}),
               ("{{ d.missing.deeper }}", {"d": {"a": 1}}), ("{{ d.a }} {{ d['a'] }} {{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 5) }}", {"d": {"a": 1}}),
               ("{{ d.items }}", {"d": {"items": [1]}}), ("{{ d['items'] }}", {"d": {"items": [1]}}), ("{{ d.values() | list }}", {"d": {"x": 1, "y": 2}}),
               ("{{ d.keys() | list }} {{ d.items() | list }}", {"d": {"x": 1, "y": [2]}}), ("{{ d.items() }}", {"d": {"x": 1}}),
               ("{{ l[0].name }} {{ l[1]['name'] }}", {"l": [{"name": "a"}, {"name": "b"}]}), ("{{ s.upper() }} {{ s.lower() }}", {"s": "MiXed"}),
               ("{{ missing | default('dflt') }} {{ none | default('x') }} {{ '' | default('e', true) }} {{ 0 | d('z', boolean=true) }}", {}),
               ("{{ missing is defined }} {{ x is defined }} {{ missing is undefined }}", {"x": None}),
               ("{% for x in missing %}{{ x }}{% else %}empty{% endfor %}", {}), ("{{ missing | length }} {{ missing | list }}", {}),
               ("{{ missing + 1 }}", {}), ("{{ missing ~ 'x' }}", {}), ("{{ missing() }}", {}), ("{{ x.y.z }}", {"x": {"y": None}}),
               ("{{ n.real }}", {"n": 5}), ("{{ d.constructor }}|{{ d.prototype }}|{{ d.toString }}|{{ d.hasOwnProperty }}", {"d": {"a": 1}}),
               ("{{ d.constructor }}", {"d": {"constructor": "Ferrari"}}), ("{{ d.__typename }}", {"d": {"__typename": "User"}}),
               ("{{ d._private }}", {"d": {"_private": 1}}), ("{{ l.length }}|{{ s.length }}", {"l": [1], "s": "ab"}),
               ("{{ l['0'] }}|", {"l": [1]}), ("{{ d[0] }} {{ d['0'] }}", {"d": {"0": "zero"}}), ("{{ d[none] }}|", {"d": {"a": 1}}),
               ("{{ d[[1]] }}|", {"d": {"a": 1}}), ("{{ {(1, 2): 'tuple-key'}[(1, 2)] }}", {}), ("{{ {1: 'a'}[1.0] }} {{ {1: 'a'}[true] }}", {})]:
    add("var", t, ctx)

# ---------------------------------------------------------------- statements
for t, ctx in [
    ("{% if x %}yes{% elif y %}maybe{% else %}no{% endif %}", {"x": 0, "y": "1"}),
    ("{% if x %}yes{% elif y %}maybe{% else %}no{% endif %}", {"x": 0, "y": ""}),
    ("{% if [] %}a{% endif %}{% if [0] %}b{% endif %}{% if {} %}c{% endif %}{% if none %}d{% endif %}", {}),
    ("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", {"d": {"a": 1, "b": 2}}),
    ("{% for k in d %}{{ k }}{% endfor %}", {"d": {"x": 1, "y": 2}}),
    ("{% for c in 'héllo' %}[{{ c }}]{% endfor %}", {}),
    ("{% for a, b in [(1, 2), (3, 4)] %}{{ a + b }} {% endfor %}", {}),
    ("{% for a, (b, c) in [(1, (2, 3))] %}{{ a }}{{ b }}{{ c }}{% endfor %}", {}),
    ("{% for x in [1, 2, 3] %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }} {% endfor %}", {}),
    ("{% for x in 'abc' %}{{ loop.cycle('odd', 'even') }} {% endfor %}", {}),
    ("{% for x in [1, 2, 3] %}{{ loop.previtem }}-{{ loop.nextitem }} {% endfor %}", {}),
    ("{% for x in [1, 1, 2, 2, 3] %}{% if loop.changed(x) %}{{ x }}{% endif %}{% endfor %}", {}),
    ("{% for x in [1, 2, 3, 4] if x is even %}{{ x }}:{{ loop.index }}/{{ loop.length }} {% endfor %}", {}),
    ("{% for x in [] %}a{% else %}empty{% endfor %}", {}),
    ("{% for x in [1] if false %}a{% else %}filtered-empty{% endfor %}", {}),
    ("{% for x in [[1, [2]], [3]] recursive %}[{% if x is iterable %}{{ loop(x) }}{% else %}{{ x }}:{{ loop.depth }}{% endif %}]{% endfor %}", {}),
    ("{% for item in tree recursive %}{{ item.name }}{% if item.children %}({{ loop(item.children) }}){% endif %}{% endfor %}",
     {"tree": [{"name": "a", "children": [{"name": "b", "children": []}, {"name": "c"}]}, {"name": "d"}]}),
    ("{% for x in [1, 2] %}{% for y in 'ab' %}{{ loop.index }}{{ x }}{{ y }} {% endfor %}{{ loop.index }}|{% endfor %}", {}),
    ("{% for x in none %}{% endfor %}", {}),
    ("{% for x in 42 %}{% endfor %}", {}),
    ("{% for a, b in [1, 2] %}{% endfor %}", {}),
    ("{% for a, b in [(1, 2, 3)] %}{% endfor %}", {}),
    ("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}", {}),
    ("{% set x = 1 %}{% if true %}{% set x = 2 %}{% endif %}{{ x }}", {}),
    ("{% set a, b = 1, 2 %}{{ a }}{{ b }}", {}),
    ("{% set a, b = [3, 4] %}{{ a }}{{ b }}", {}),
    ("{% set t = 1, 2 %}{{ t }}", {}),
    ("{% set x %}captured <b>{{ 1 + 1 }}</b>{% endset %}{{ x }}|{{ x | length }}", {}),
    ("{% set x | upper | trim %}  shout {% endset %}[{{ x }}]", {}),
    ("{% set ns = namespace(count=0) %}{% for i in range(3) %}{% set ns.count = ns.count + i %}{% endfor %}{{ ns.count }}", {}),
    ("{% set ns = namespace() %}{% set ns.a = 1 %}{{ ns.a }} {{ ns.b }}|", {}),
    ("{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }} {{ ns }}", {}),
    ("{% set d = {} %}{% set d.x = 1 %}", {}),
    ("{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}{{ a }}|", {}),
    ("{% with x = 5 %}{% set y = x * 2 %}{{ y }}{% endwith %}{{ y }}|", {}),
    ("{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Ada') }} {{ greet('Bob', greeting='Hi') }} {{ greet(greeting='Yo', name='C') }}", {}),
    ("{% macro m(a, b) %}[{{ a }}|{{ b }}]{% endmacro %}{{ m(1) }}", {}),
    ("{% macro m() %}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, x=3) }}", {}),
    ("{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}", {}),
    ("{% macro m(a) %}{{ a }}{% endmacro %}{{ m(b=2) }}", {}),
    ("{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('p') %}inner & {{ 1 + 1 }}{% endcall %}", {}),
    ("{% macro list(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}{% call(x) list([1, 2]) %}<{{ x }}>{% endcall %}", {}),
    ("{% macro rec(n) %}{{ n }}{% if n > 0 %}{{ rec(n - 1) }}{% endif %}{% endmacro %}{{ rec(3) }}", {}),
    ("{% macro m() %}<b>{% endmacro %}{{ m() }}{{ m() | length }}", {}),
    ("{% filter upper %}hello {{ name }}{% endfilter %}", {"name": "<you>"}),
    ("{% filter replace('a', 'o') | upper %}banana{% endfilter %}", {}),
    ("{% raw %}{{ not rendered }} {% if %}{% endraw %}", {}),
    ("a {# comment #} b {#- trimmed -#} c", {}),
    ("{% for x in [1, 2] -%}\n  {{ x }}\n{%- endfor %}", {}),
    ("  {{- 'x' -}}  \n y", {}),
    ("a\n{% if true %}\nb\n{% endif %}\nc\n", {}),
    ("line1\r\nline2\r\n", {}),
    ("{% autoescape false %}{{ '<b>' }}{% endautoescape %}{{ '<b>' }}", {}),
    ("{% autoescape true %}{{ '<i>' }}{% endautoescape %}", {}),
    ("{% block content %}block {{ 1 }}{% endblock %}", {}),
    ("{% print 'printed', 1 %}", {}),
    ("{% set x = 'outer' %}{% macro m() %}{{ x }}{% endmacro %}{{ m() }}", {}),
    ("{% for i in range(3) %}{{ i }}{% endfor %} {{ range(2, 10, 3) | list }} {{ range(5, 0, -2) | list }}", {}),
    ("{{ range(10**9) }}", {}),
    ("{{ range(0) | list }} {{ range(3) }}", {}),
    ("{% set j = joiner(', ') %}{% for x in [1, 2, 3] %}{{ j() }}{{ x }}{% endfor %}", {}),
    ("{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}{{ c.current }}", {}),
    ("{{ dict(a=1, b=2) }} {{ dict([('x', 1)]) }}", {}),
]:
    add("stmt", t, ctx)

# ---------------------------------------------------------------- tests
for t in ["{{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }}",
          "{{ none is none }} {{ 0 is none }} {{ true is boolean }} {{ 1 is boolean }} {{ false is false }} {{ true is true }}",
          "{{ 1 is integer }} {{ 1.0 is integer }} {{ 1.0 is float }} {{ true is integer }} {{ 1 is number }} {{ 'x' is number }}",
          "{{ 'a' is string }} {{ 1 is string }} {{ {} is mapping }} {{ [] is mapping }} {{ [] is sequence }} {{ 'x' is sequence }} {{ 1 is sequence }}",
          "{{ [] is iterable }} {{ 1 is iterable }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'aB' is lower }}",
          "{{ 1 is eq 1 }} {{ 1 is equalto 2 }} {{ 1 is ne 2 }} {{ 2 is gt 1 }} {{ 2 is ge 2 }} {{ 1 is lt 2 }} {{ 1 is le 0 }}",
          "{{ 2 is greaterthan 1 }} {{ 1 is lessthan 2 }} {{ 1 is == 1 }} {{ 2 is in [1, 2] }} {{ 'a' is in 'abc' }}",
          "{{ none is sameas none }} {{ true is sameas true }} {{ 1 is not none }} {{ 2 is not odd }}",
          "{{ 'upper' is filter }} {{ 'nope' is filter }} {{ 'odd' is test }} {{ 'x' is escaped }} {{ ('x' | e) is escaped }}",
          "{{ range is callable }} {{ 1 is callable }} {{ x is defined and x > 1 }}",
          "{{ 1 is odd or 2 is odd }}", "{{ 1 is nonexistent_test }}", "{{ x is divisibleby 3 }}", "{{ 'a' is divisibleby 3 }}"]:
    add("test", t, {"x": 5} if "x is defined" in t else None)

# ---------------------------------------------------------------- filters
PEOPLE = [{"name": "bob", "age": 30, "city": "Berlin"}, {"name": "Alice", "age": 25, "city": "berlin"},
          {"name": "carol", "age": 35, "city": "Paris"}, {"name": "dave", "age": 25}]
for t, ctx in [
    ("{{ 'hello world' | upper }} {{ 'HeLLo' | lower }} {{ 'hello WORLD' | capitalize }} {{ 'hello wORLD-foo (bar) [baz' | title }}", None),
    ("{{ \"it's a o'neil\" | title }} {{ 'x'|title }}", None),
    ("{{ '  pad  ' | trim }}|{{ 'xxaxx' | trim('x') }}|{{ none | trim }}", None),
    ("[{{ 'ab' | center(6) }}] [{{ 'abc' | center(6) }}] [{{ 'x' | center }}]", None),
    ("{{ 'aaa' | replace('a', 'b') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ '<a>' | replace('<', '[') }}", None),
    ("{{ 'hello' | replace('l', '<') }}", None),
    ("{{ 'The quick brown fox jumps' | truncate(12) }}|{{ 'The quick brown fox jumps' | truncate(12, true) }}|{{ 'short' | truncate(3, end='…', leeway=0) }}", None),
    ("{{ 'a b c d e f g h i j k l m n o p' | truncate(9) }}|{{ 'abcdefghijklmnop' | truncate(9, killwords=false, leeway=0) }}", None),
    ("{{ 'one two  three, four' | wordcount }} {{ '' | wordcount }}", None),
    ("{{ '<p>Hello <b>World</b>&amp;  more</p>' | striptags }}", None),
    ("{{ 'a\nb\n\nc' | indent }}|{{ 'a\nb' | indent(2, first=true) }}|{{ 'a\n\nb' | indent('> ', blank=true) }}", None),
    ("{{ 'The quick brown fox jumps over the lazy dog' | wordwrap(10) }}", None),
    ("{{ '%s is %d years' | format('Ada', 36) }} {{ '%(a)s-%(b)s' | format(a=1, b=2) }} {{ '%.2f%%' | format(12.345) }}", None),
    ("{{ '%5s|%-5s|%05d|%+d|%x|%X|%o|%e|%g|%r' | format('a', 'b', 42, 7, 255, 255, 8, 12345.678, 0.0001234, 'q') }}", None),
    ("{{ '%s' | format(none) }} {{ '%s %s' | format(1) }}", None),
    ("{{ 'x' | string }} {{ 1 | string }} {{ [1] | string }} {{ none | string }}", None),
    ("{{ '<b>' | safe }} {{ '<b>' | e }} {{ '<b>' | escape }} {{ ('<b>' | safe) | forceescape }} {{ ('<b>' | e) | e }}", None),
    ("{{ 'a b&c/d?e=é' | urlencode }} {{ {'a': 'x y', 'b': 'é&'} | urlencode }} {{ [('k', 1), ('l', 'a/b')] | urlencode }}", None),
    ("{{ {'class': 'x', 'id': none, 'data-v': '<\"q\">'} | xmlattr }}|{{ {'a': 1} | xmlattr(false) }}", None),
    ("{{ 100 | filesizeformat }} {{ 1 | filesizeformat }} {{ 1500 | filesizeformat }} {{ 1048576 | filesizeformat(true) }} {{ 1e12 | filesizeformat }}", None),
    ("{{ 'Visit https://example.com/a?b=1 or www.example.org now' | urlize }}", None),
    ("{{ [3, 1, 2] | sort }} {{ [3, 1, 2] | sort(reverse=true) }} {{ ['b', 'A', 'c'] | sort }} {{ ['b', 'A', 'c'] | sort(case_sensitive=true) }}", None),
    ("{{ people | sort(attribute='age') | map(attribute='name') | join(',') }}", {"people": PEOPLE}),
    ("{{ people | sort(attribute='age,name') | map(attribute='name') | join(',') }}", {"people": PEOPLE}),
    ("{{ people | sort(attribute='name', reverse=true) | map(attribute='name') | list }}", {"people": PEOPLE}),
    ("{{ {'b': 1, 'a': 2, 'C': 0} | dictsort }} {{ {'b': 1, 'a': 2} | dictsort(by='value') }} {{ {'b': 1, 'a': 2} | dictsort(reverse=true) }}", None),
    ("{% for k, v in {'b': 1, 'a': 2} | dictsort %}{{ k }}{{ v }}{% endfor %}", None),
    ("{% for k, v in {'x': 1, 'y': 2} | items %}{{ k }}{{ v }}{% endfor %}{% for k, v in missing | items %}never{% endfor %}", None),
    ("{{ [1, 2, 2, 3, 1] | unique | list }} {{ ['a', 'A', 'b'] | unique | list }} {{ ['a', 'A', 'b'] | unique(case_sensitive=true) | list }}", None),
    ("{{ people | unique(attribute='age') | map(attribute='name') | list }}", {"people": PEOPLE}),
    ("{{ [3, 1, 2] | min }} {{ [3, 1, 2] | max }} {{ ['b', 'A', 'c'] | max }} {{ [] | max }}|{{ people | max(attribute='age') }}", {"people": PEOPLE}),
    ("{{ [1, 2, 3] | sum }} {{ [1.5, 2] | sum }} {{ people | sum(attribute='age') }} {{ [[1], [2]] | sum(start=[]) }}", {"people": PEOPLE}),
    ("{% for g in people | groupby('age') %}{{ g.grouper }}:{{ g.list | map(attribute='name') | join('+') }} {% endfor %}", {"people": PEOPLE}),
    ("{% for city, items in people | groupby('city', default='nowhere') %}{{ city }}={{ items | length }} {% endfor %}", {"people": PEOPLE}),
    ("{% for city, items in people | groupby('city', default='nowhere', case_sensitive=true) %}{{ city }}={{ items | length }} {% endfor %}", {"people": PEOPLE}),
    ("{{ people | groupby('age') | first }}", {"people": PEOPLE[:2]}),
    ("{{ [1, 2, 3, 4, 5] | batch(2) | list }} {{ [1, 2, 3] | batch(2, 'x') | list }}", None),
    ("{{ [1, 2, 3, 4, 5] | slice(2) | list }} {{ [1, 2, 3, 4] | slice(3, 0) | list }}", None),
    ("{{ ['a', 'b'] | map('upper') | list }} {{ [1.5, 2.7] | map('round') | list }} {{ ['1', '2'] | map('int') | sum }}", None),
    ("{{ people | map(attribute='city', default='?') | list }} {{ people | map(attribute='name') | map('upper') | join(' ') }}", {"people": PEOPLE}),
    ("{{ ['x', 'y'] | map('replace', 'x', 'z') | list }} {{ [[1, 2], [3]] | map('length') | list }}", None),
    ("{{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3, 4] | reject('odd') | list }} {{ [0, 1, '', 'a', none] | select | list }}", None),
    ("{{ [1, 5, 10] | select('gt', 3) | list }} {{ [1, 5, 10] | select('divisibleby', 5) | list }} {{ ['a', 'b'] | select('in', 'abc') | list }}", None),
    ("{{ people | selectattr('age', 'equalto', 25) | map(attribute='name') | list }}", {"people": PEOPLE}),
    ("{{ people | selectattr('city') | map(attribute='name') | list }} {{ people | rejectattr('city') | map(attribute='name') | list }}", {"people": PEOPLE}),
    ("{{ people | selectattr('age', '>=', 30) | list | length }} {{ people | rejectattr('age', 'lt', 30) | map(attribute='name') | join }}", {"people": PEOPLE}),
    ("{{ people | selectattr('city', 'none') | list }}|{{ people | selectattr('city', 'defined') | list | length }}", {"people": PEOPLE}),
    ("{{ [1, 2, 3] | select('odd') }}", None),
    ("{{ [1, 2, 3] | select('odd') | last }}", None),
    ("{{ [1, 2, 3] | select('odd') | first }} {{ [1, 2, 3] | select('odd') | length }}", None),
    ("{{ [1, 2, 3] | first }} {{ [1, 2, 3] | last }} {{ [] | first }}|{{ 'abc' | first }}{{ 'abc' | last }} {{ {'a': 1, 'b': 2} | first }}", None),
    ("{{ [1, 2, 3] | length }} {{ 'héllo' | length }} {{ {'a': 1} | count }} {{ '' | length }}", None),
    ("{{ 'abc' | list }} {{ {'a': 1, 'b': 2} | list }} {{ range(3) | list }} {{ (1, 2) | list }}", None),
    ("{{ [1, 2, 3] | reverse | list }} {{ 'abc' | reverse }} {{ (1, 2) | reverse | list }}", None),
    ("{{ [1, 2, 3] | join }} {{ [1, 2, 3] | join('-') }} {{ people | join(', ', attribute='name') }}", {"people": PEOPLE}),
    ("{{ ['<a>', '<b>' | safe] | join(', ') }} {{ ['<a>', 'b'] | join('<br>') }}", None),
    ("{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ '0x1A' | int(0, 16) }} {{ 'ff' | int(base=16) }} {{ 3.99 | int }} {{ none | int }} {{ true | int }}", None),
    ("{{ ' 12 ' | int }} {{ '1_000' | int }} {{ '-5' | int }} {{ '12345678901234567890' | int }}", None),
    ("{{ '3.5' | float }} {{ 3 | float }} {{ 'x' | float }} {{ 'x' | float(1.5) }} {{ '1e3' | float }} {{ none | float }} {{ ' 2 ' | float }}", None),
    ("{{ -3 | abs }} {{ (-3) | abs }} {{ -2.5 | abs }} {{ 2.5 | round }} {{ 3.5 | round }} {{ 2.675 | round(2) }} {{ 42 | round }}", None),
    ("{{ 3.14159 | round(2) }} {{ 3.14159 | round(2, 'floor') }} {{ 3.14159 | round(1, 'ceil') }} {{ 1234 | round(-2) }} {{ 0.5 | round }}", None),
    ("{{ 2.5 | round(method='banker') }}", None),
    ("{{ {'b': [1, 2], 'a': 'x<y>&\\'z'} | tojson }} {{ 'é' | tojson }} {{ none | tojson }} {{ 1.0 | tojson }}", None),
    ("{{ {'a': [1, {'b': 2}]} | tojson(indent=2) }}", None),
    ("{{ [1, 'two', none, true, 3.5] | json_encode }} {{ {'z': 1, 'a': 'é<'} | json_encode }} {{ 'x' | json_encode }}", None),
    ("{{ '{\"a\": [1, 2.0, {\"b\": null}], \"c\": \"d\"}' | from_json }}", None),
    ("{{ ('{\"n\": 12345678901234567890123}' | from_json).n + 1 }}", None),
    ("{{ ('[1.5, 2.0, 3, -0.0, 1e2, 1E-7]' | from_json) }}", None),
    ("{{ '{\"b\": 1, \"10\": 2, \"a\": 3}' | from_json | list }}", None),
    ("{{ 'NaN' | from_json }} {{ '[Infinity, -Infinity]' | from_json }}", None),
    ("{{ '{\"a\": 1,}' | from_json }}", None),
    ("{{ none | from_json }}", None),
    ("{{ 'hello' | base64_encode }} {{ 'héllo ✓' | base64_encode }} {{ 'aGVsbG8=' | base64_decode }} {{ 'aMOpbGxvIOKckw==' | base64_decode }}", None),
    ("{{ 'not base64!' | base64_decode }}", None),
    ("{{ {'b': 1, 'a': [1, 2]} | pprint }} {{ 'x' | pprint }}", None),
    ("{{ d | attr('a') }}|{{ d | attr('items') }}", {"d": {"a": 1}}),
    ("{{ x | attr('__class__') }}", {"x": "s"}),
    ("{{ 'abc' | nonexistent }}", None),
    ("{{ [1, 2] | map('nonexistent') | list }}", None),
    ("{{ 'x' | center(width=5) }}|{{ [1] | join(d='+') }}", None),
]:
    add("filter", t, ctx)

# ---------------------------------------------------------------- str / dict / list methods
for t in ["{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a,b,c'.rsplit(',', 1) }}",
          "{{ 'Hello'.startswith('He') }} {{ 'Hello'.endswith(('x', 'lo')) }} {{ 'Hello'.find('l') }} {{ 'Hello'.rfind('l') }} {{ 'Hello'.find('z') }}",
          "{{ 'hello'.replace('l', 'L') }} {{ 'hello'.replace('l', 'L', 1) }} {{ 'hello'.count('l') }} {{ 'hello'.index('e') }}",
          "{{ '  x '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '  x '.lstrip() }}|{{ '  x '.rstrip() }}",
          "{{ 'hello world'.title() }} {{ 'hello'.capitalize() }} {{ 'Hello'.swapcase() }} {{ 'abc'.upper() }}",
          "{{ '42'.isdigit() }} {{ 'abc'.isalpha() }} {{ 'ab1'.isalnum() }} {{ ' '.isspace() }} {{ 'abc'.islower() }} {{ 'ABC'.isupper() }} {{ ''.isdigit() }}",
          "{{ '-'.join(['a', 'b']) }} {{ ', '.join('xyz') }} {{ 'ab'.center(6, '*') }} {{ 'ab'.ljust(4, '.') }} {{ 'ab'.rjust(4) }} {{ '42'.zfill(5) }} {{ '-42'.zfill(5) }}",
          "{{ 'a=b=c'.partition('=') }} {{ 'a=b=c'.rpartition('=') }} {{ 'abc'.partition('x') }}",
          "{{ 'prefix-body'.removeprefix('prefix-') }} {{ 'body.txt'.removesuffix('.txt') }}",
          "{{ 'a\nb\r\nc'.splitlines() }} {{ 'a\nb'.splitlines(true) }}",
          "{{ '{} and {}'.format('x', 'y') }} {{ '{0}{1}{0}'.format('a', 'b') }} {{ '{name}!'.format(name='Ada') }}",
          "{{ '{:>8}|{:<4}|{:^7}|{:*^7}'.format('r', 'l', 'c', 'c') }}",
          "{{ '{:.3f} {:,} {:08.2f} {:+d} {:x} {:o} {:b} {:e} {:.1%}'.format(3.14159, 1234567, 3.14159, 5, 255, 8, 5, 12345.678, 0.256) }}",
          "{{ '{0[a]} {0[b][0]}'.format({'a': 1, 'b': [2]}) }} {{ '{!r} {!s}'.format('q', 'q') }}",
          "{{ '{0.__class__}'.format('x') }}",
          "{{ '{} {}'.format('x') }}",
          "{{ 'é'.encode('utf-8') }} {{ 'abc'.encode() }}",
          "{{ [1, 2, 1].count(1) }} {{ [1, 2, 3].index(2) }} {{ (1, 2).count(2) }} {{ [1, 2].copy() }}",
          "{{ {'a': 1}.copy() }} {{ {'a': 1}.get('a') }} {{ {'a': 1}.items() | list }}",
          "{{ 'x'.nonexistent }}|", "{{ 'abc'.upper }}", "{{ [1].__len__() }}"]:
    add("method", t)

# ---------------------------------------------------------------- autoescape on/off (on for request_body and response_body only)
for field in ("response_body", "header"):
    for t in ["{{ '<b>&\"\\'' }}", "{{ ['<'] }}", "{{ {'k': '<v>'} }}", "{{ '<i>' ~ ('<b>' | safe) }}", "{{ ('<b>' | safe) ~ '<i>' }}",
              "{{ '<b>' | safe + '<i>' }}", "{{ ('<b>' | safe) | upper }}", "{{ ('%s<br>' | safe) % '<x>' }}", "{{ ('a<b' | e).replace('a', '<') }}",
              "{% set x %}<p>{{ '<' }}</p>{% endset %}{{ x }}", "{% macro m() %}<{{ '&' }}>{% endmacro %}{{ m() }}",
              "{{ ['<a>', '<b>'] | join('&') }}", "{{ 'a&b' | replace('&', '<&>') }}", "{{ '<x>' | urlencode }}", "{{ none }}{{ true }}",
              "{{ '<' | tojson }}", "{{ {'a': '<'} | json_encode }}", "{{ '<b>' | striptags }}", "{{ '<b>' | title }}",
              "{{ 'a<b' | truncate(1, end='<>', leeway=0) }}"]:
        add("esc-" + field.split("_")[0], t, field=field)
add("esc-header", "Bearer {{ get_secret('t') }}", field="header", secrets={"t": "a&b<c>\"d'"})
add("esc-header", "{{ get_secret('t') }}:{{ get_variable('v') }}", field="auth", secrets={"t": "x"}, variables={"v": "y&z"})
add("esc-header", "key={{ get_secret('missing') }}", field="query", id="esc-header-missing-in-query")
add("esc-header", "{{ user.email }}&{{ user.username }}", {"user": {"email": "a+b@x.io", "username": "a&b"}}, field="query")

# ---------------------------------------------------------------- errors (any error counts as a match)
for t in ["{{ }}", "{{ 1 + }}", "{% if x %}unterminated", "{% for x in y %}", "{% endfor %}", "{{ 'unterminated }}", "{% nope %}",
          "{% elseif x %}", "{% switch x %}{% endswitch %}", "{{ x | }}", "{{ [1, 2 }}", "{{ {'a' 1} }}", "{% set %}", "{% for in x %}{% endfor %}",
          "{% macro %}{% endmacro %}", "{{ x y }}", "{% if %}{% endif %}", "{{ 1 + 2 }", "{% raw %}never closed", "{# open comment",
          "{% include 'other.html' %}", "{% extends 'base.html' %}", "{% import 'forms.html' as forms %}", "{% from 'f.html' import x %}",
          "{% break %}", "{% do x.append(1) %}", "{{ a is is b }}", "{{ foo(a=1, 2) }}", "{% set 1 = 2 %}", "{% macro m(a=1, b) %}{% endmacro %}",
          "{{ x.1.a }}", "{% call m %}{% endcall %}", "{{ 'a' === 'a' }}"]:
    add("err", t, {"x": [[0, {"a": 1}]]} if "x.1" in t else None)

# ---------------------------------------------------------------- scoping edge cases
for t, ctx in [
    ("{% for i in range(2) %}[{{ c }}{% set c = 5 %}{{ c }}]{% endfor %}{{ c }}", {"c": 0}),
    ("{% macro m() %}{{ x }}{% endmacro %}{% set x = 1 %}{{ m() }}", {}),
    ("{% set x = 'o' %}{% for x in [1] %}{{ x }}{% endfor %}{{ x }}", {}),
    ("{% for i in [1, 2] %}{% if i == 2 %}{% set y = 'two' %}{% endif %}{{ y }}|{% endfor %}", {}),
    ("{{ loop }}|{{ loop is defined }}", {}),
    ("{% for a in [1, 2] %}{% set outer = loop %}{% for b in [3] %}{{ outer.index }}{{ loop.index }} {% endfor %}{% endfor %}", {}),
    ("{% for x in 'ab' %}{% for y in 'cd' %}{{ loop.depth }}{% endfor %}{% endfor %}", {}),
    ("{% set ns = namespace(v=0) %}{% macro inc() %}{% set ns.v = ns.v + 1 %}{% endmacro %}{{ inc() }}{{ inc() }}{{ ns.v }}", {}),
    ("{% macro outer() %}{% macro inner() %}in{% endmacro %}{{ inner() }}{% endmacro %}{{ outer() }}", {}),
    ("{% for x in [1, 2] %}{% set cap %}<{{ x }}>{% endset %}{{ cap }}{% endfor %}", {}),
    ("{% with a = 1 %}{% with b = a + 1 %}{{ a }}{{ b }}{% endwith %}{% endwith %}", {}),
    ("{% set a = 1 %}{% with a = a + 1, b = a %}{{ a }}{{ b }}{% endwith %}{{ a }}", {}),
    ("{% macro m(x) %}{{ caller(x * 2) }}{% endmacro %}{% for i in [1, 2] %}{% call(v) m(i) %}{{ v }}{{ i }}{% endcall %}{% endfor %}", {}),
    ("{% macro m(a, b=a * 2) %}{{ a }}/{{ b }}{% endmacro %}{{ m(3) }}", {}),
    ("{% for x in [3, 1, 2] | sort %}{{ x }}{% if loop.first %}F{% endif %}{% endfor %}", {}),
    ("{% for k, v in {'b': 2, 'a': 1} | dictsort(reverse=true) %}{{ k }}{{ v }}{% endfor %}", {}),
]:
    add("scope", t, ctx)

# ---------------------------------------------------------------- formatting and numbers, more
for t in ["{{ '%d' % 3.7 }} {{ '%5.1f|' % 2.25 }} {{ '%s' % [1, 2] }} {{ '%s %s' % (1, 2) }} {{ '%(a)s' % {'a': 1} }} {{ '%i%%' % 50 }}",
          "{{ '{:05.1f}'.format(-2.5) }} {{ '{:,.2f}'.format(1234567.891) }} {{ '{:>10.3}'.format('abcdef') }}|{{ '{:10}'.format(5) }}|{{ '{:<10}'.format(5) }}|",
          "{{ '{:=+8}'.format(5) }} {{ '{:#x}'.format(255) }} {{ '{:g}'.format(1e-5) }} {{ '{}'.format(1.0) }} {{ '{}'.format(none) }} {{ '{:.0f}'.format(2.5) }} {{ '%.0f' % 0.5 }}",
          "{{ '{:.2e}'.format(123456) }} {{ '{:%}'.format(0.5) }} {{ '{:_}'.format(1000000) }} {{ '{:.3g}'.format(1234.5) }} {{ '{:.10g}'.format(0.1) }}",
          "{{ 1e100 }} {{ 1.5e300 * 1e10 }} {{ -1e-7 }} {{ 123456789012345.678 }} {{ 0.1 | round(1) }} {{ 1/7 }}",
          "{{ 2**53 + 1 }} {{ (2**70) // 3 }} {{ -(2**70) // 7 }} {{ 10**20 / 3 }} {{ 7 % -2.5 }} {{ 3 // 0.5 }} {{ 2**62 * 4 }}",
          "{{ '1.0' | float }} {{ 1.0 | int }} {{ '1e5' | int }} {{ 'inf' | float }} {{ '-nan' | float }} {{ 'a' | int(base=40) }} {{ '12' | int(base=3) }}",
          "{{ 0.1 + 0.2 | round(10) }} {{ (0.1 + 0.2) | round(10) }} {{ 3.14159 | round(2) | string }} {{ 1.005 | round(2) }} {{ 2.5 | round(0) }}",
          "{{ 1000000 | filesizeformat(true) }} {{ 999 | filesizeformat }} {{ '2048' | filesizeformat }} {{ 1e30 | filesizeformat }}",
          "{{ 5 | abs }} {{ -0.0 | abs }} {{ true + true }} {{ 3 * true }} {{ -true }}",
          "{{ 1 / 3 * 3 }} {{ 0.1 * 0.1 }} {{ 1e-320 }} {{ 5e-324 }} {{ 1.7976931348623157e308 }}"]:
    add("num", t)

# ---------------------------------------------------------------- filters, more
USERS = [{"name": "a", "age": 30}, {"name": "b", "age": 20}, {"name": "a", "age": 40}]
for t, ctx in [
    ("{{ [3, 2, 1] | sort | first }} {{ 'abcde' | batch(2) | list }} {{ {'B': 1, 'a': 2} | dictsort(true) }}", None),
    ("{{ [1, 2, 3] | map('string') | join }} {{ ['a', 'b'] | map('upper') | first }} {{ users | map(attribute='name') | unique | list }}", {"users": USERS}),
    ("{{ [] | sum }} {{ [1, 'a'] | sort }}", None),
    ("{{ 'abc' | sum }}", None),
    ("{{ 'x' | join }} {{ 42 | string | length }} {{ 'hello' | truncate(5) }} {{ (1, 2) | tojson }} {{ {'a': none} | tojson }}", None),
    ("{{ {2: 'b', 1: 'a'} | tojson }}", None),
    ("{{ {1: 'a', 'b': 2} | tojson }}", None),
    ("{{ 'a\u2028b' | tojson }} {{ 'ü' | urlencode }} {{ {'a': [1, 2]} | urlencode }} {{ 'x' | indent(first=true) }}", None),
    ("{{ 'AbC' | lower | upper }} {{ '  multiple   spaces  ' | wordcount }} {{ [1, 2, 3, 4] | slice(2) | map('sum') | list }}", None),
    ("{{ range(5) | batch(2) | map('join', ',') | list }} {{ users | groupby('age') | map(attribute='grouper') | list }}", {"users": USERS}),
    ("{{ users | selectattr('name', 'in', ['a']) | map(attribute='age') | list }} {{ users | rejectattr('x', 'undefined') | list | length }}", {"users": USERS}),
    ("{{ users | map(attribute='missing') | list }} {{ [none, 1] | select('none') | list }}", {"users": USERS}),
    ("{{ 'Hello World' | replace('o', '0', 1) }} [{{ '  x  ' | center(9) }}] {{ users | sort(attribute='name,age', reverse=true) | map(attribute='age') | list }}", {"users": USERS}),
    ("{{ users | max(attribute='age') }} {{ users | min(attribute='name') }} {{ ['a', 'B'] | min }} {{ ['a', 'B'] | min(case_sensitive=true) }}", {"users": USERS}),
    ("{{ users | sum(attribute='age') }} {{ users | map(attribute='age') | sum(start=10) }} {{ [0.1, 0.2] | sum }}", {"users": USERS}),
    ("{{ {'x': 1} | items | list }} {{ 'abc' | reverse | list }} {{ [1, [2, 3]] | list | length }}", None),
    ("{{ users | groupby('name') | list }}", {"users": USERS}),
    ("{% for g, us in users | groupby('age') | reverse %}{{ g }}{% endfor %}", {"users": USERS}),
    ("{{ 'a,b;c' | replace(';', ',') | trim | list | length }}", None),
    ("{{ '<b>' | safe | replace('b', 'i') }} {% set s = '<b>' | safe %}{{ s ~ x }} {{ '&' | e | e }} {{ ('<' | safe) | string }}", {"x": "<"}),
    ("{{ x | default }}|{{ x | d(none) }}|{{ none | default }}", None),
    ("{{ [1, 2, 3] | random in [1, 2, 3] }} {{ 'abc' | random in 'abc' }}", None),
    ("{{ lipsum(1, false, 3, 4) | wordcount }}", None),
    ("{{ lipsum(1, false, 3, 3) }}", None),
]:
    add("filter2", t, ctx)

# ---------------------------------------------------------------- tests, more
for t in ["{{ none is defined }} {{ undefined_var is none }} {{ 1.0 is divisibleby 0.5 }} {{ 'a' is in ['a'] }} {{ range(3) is sequence }}",
          "{{ {} is iterable }} {{ 'abc' is sequence }} {{ {}.items is callable }} {{ 1 is ge 1.0 }} {{ true is number }} {{ none is string }}",
          "{{ 10 is divisibleby(3) or 9 is divisibleby(3) }} {{ not 3 is odd }} {{ (3 is odd) == true }} {{ 2 is not in [1] }}"]:
    add("test2", t)

# ---------------------------------------------------------------- whitespace and raw
for t in ["{%- raw -%}  x  {%- endraw -%}|", "a  {%- raw %} b {% endraw -%}  c", "x\n{%- if true %}\n  y\n{%- endif %}\nz",
          "{% for i in [1, 2] %}\n{{ i }}\n{% endfor %}", "  {#- c -#}  x", "a {{- ' b ' -}} c", "{{ 'a' }}\n\n", "\n\n{{ 'a' }}",
          "{% if true %}a{% else %}b{% endif %}\r\n{{ 'c' }}\r\n", "tab\t{{ 1 }}\tend", "{%+ if true %}plus{% endif %}"]:
    add("ws", t)

# ---------------------------------------------------------------- from_json: exact numbers, order, top-level values
for text in ['10.0', ' 1e3', '[10.0, 1.50, -0.0, 2E+2]', '{"a": 1.50}', '123456789012345678', '{"x": "1.0", "y": 2}',
             '{"id": "550e8400-e29b-41d4-a716-446655440000", "n": 12345678901234567890}', '{"b": 1, "2": 0, "a": 3}',
             '"just a string"', 'null', 'true', '[]', '{"nested": {"deep": [1, {"k": 1.0}]}}', '{"dup": 1, "dup": 2}',
             '{"esc": "\\u00e9\\n\\t\\"q\\"", "emoji": "\\ud83d\\ude00"}']:
    add("json", "{% set v = t | from_json %}{{ v }}|{{ v | tojson }}|{{ v | json_encode }}", {"t": text})

# ---------------------------------------------------------------- undefined / none semantics, more
for t, ctx in [
    ("{{ missing == none }} {{ missing != 1 }} {{ missing is none }} {{ missing == missing2 }}", {}),
    ("{{ 'x' in missing }} {{ missing | length }} {{ missing | join(',') }} {{ missing | list }}", {}),
    ("{{ missing < 1 }}", {}),
    ("{% if missing > 1 %}y{% endif %}", {}),
    ("{% if missing %}y{% else %}n{% endif %} {{ 'y' if missing else 'n' }} {{ missing or 'dflt' }} {{ missing and 'x' }}", {}),
    ("{{ missing | upper }}|{{ missing | trim }}|{{ missing | string }}|{{ missing | tojson }}", {}),
    ("{{ missing | first }}", {}),
    ("{{ missing[0] }}", {}),
    ("{{ none.x }}|{{ none['x'] }}|", {}),
    ("{{ none.x.y }}", {}),
    ("{{ (none | default({})).x }}|{{ user.missing | default('anon') }}", {"user": {}}),
    ("{{ [missing] }} {{ {'a': missing} }}", {}),
    ("{{ x.y }}|{{ l.y }}|{{ s.y }}|{{ n.y }}", {"x": [1], "l": [1, 2], "s": "str", "n": 3}),
    ("{{ d.get('a').b }}", {"d": {"a": {"b": 1}}}),
    ("{{ d.get('z', {}).b }}|", {"d": {}}),
]:
    add("undef", t, ctx)

# ---------------------------------------------------------------- strings and unicode
for t in ["{{ 'héllo wörld' | title }} {{ 'ÉCOLE' | lower }} {{ 'straße' | upper }} {{ 'ǆ' | capitalize }}",
          "{{ '😀abc' | length }} {{ '😀abc'[0] }} {{ '😀abc'[1:] }} {{ '😀abc' | reverse }} {{ 'a😀b'.find('b') }}",
          "{{ 'a😀b' | truncate(2, true, '') }}|{{ '😀' * 3 }}|{{ '😀😀' | center(4, ) }}|",
          "{{ 'Ünïcödé' | urlencode }} {{ 'ü' | base64_encode }} {{ '😀' | tojson }} {{ '😀' | json_encode }}",
          "{{ 'a\\u00a0b c'.split() }} {{ ' \\t\\n x \\r\\n' | trim }}| {{ 'x\\u3000' | trim }}|",
          "{{ 'abc' < 'abd' }} {{ 'Z' < 'a' }} {{ 'é' > 'z' }} {{ ['b', 'a', 'C', 'é'] | sort }} {{ ['b', 'a', 'C', 'é'] | sort(case_sensitive=true) }}",
          "{{ 'I' | lower }} {{ 'ß' | title }} {{ 'ﬁ' | upper }}",
          "{{ 'one\\ntwo' | wordcount }} {{ 'a-b_c d.e' | wordcount }} {{ 'a-b c' | title }} {{ 'a(b c[d <e' | title }}",
          "{{ '%-6s|%6s|' % ('ab', 'cd') }} {{ '%c%c' % (72, 'i') }} {{ '%05.1f' % -1.25 }} {{ '%+.2e' % 12345 }} {{ '%#o %#x' % (8, 255) }}",
          "{{ 'tab\\there' | indent(2, true) }} {{ 'x' ~ '\\\\' ~ 'y' }} {{ 'q\"q' }} {{ \"q'q\" }} {{ ['q\"q', \"q'q\"] }}"]:
    add("unicode", t)

# ---------------------------------------------------------------- sort stability and mixed keys
ITEMS = [{"k": "b", "v": 1}, {"k": "a", "v": 2}, {"k": "B", "v": 3}, {"k": "a", "v": 4}, {"k": "A", "v": 5}]
for t in ["{{ items | sort(attribute='k') | map(attribute='v') | list }}", "{{ items | sort(attribute='k', case_sensitive=true) | map(attribute='v') | list }}",
          "{{ items | sort(attribute='k', reverse=true) | map(attribute='v') | list }}", "{{ items | unique(attribute='k') | map(attribute='v') | list }}",
          "{{ items | groupby('k') | map(attribute='grouper') | list }}", "{{ items | groupby('k', case_sensitive=true) | map(attribute='grouper') | list }}",
          "{{ items | max(attribute='k') }} {{ items | min(attribute='k') }} {{ items | max(attribute='k', case_sensitive=true) }}",
          "{{ items | dictsort }}", "{{ [[2, 'b'], [1, 'z'], [2, 'a']] | sort }} {{ [(1, 2), (1,)] | sort }}",
          "{{ [1, 2.5, true, 0] | sort }} {{ [none, 1] | sort }}"]:
    add("sort", t, {"items": ITEMS})
add("unicode", "{{ 'ß'.capitalize() }} {{ 'ßa'.title() }} {{ 'ﬁne' | capitalize }} {{ 'ǉubljana'.title() }} {{ 'ß' | title }}")

# ---------------------------------------------------------------- attribute paths, sequences, misc
PRODUCTS = [{"name": "x", "vendor": {"name": "Zed", "tier": 2}, "tags": ["b", "a"], "price": 3.5},
            {"name": "y", "vendor": {"name": "Acme", "tier": 1}, "tags": ["c"], "price": 1.25},
            {"name": "z", "vendor": {"name": "acme", "tier": 1}, "tags": [], "price": 2}]
for t in ["{{ products | map(attribute='vendor.name') | list }} {{ products | sort(attribute='vendor.name') | map(attribute='name') | join }}",
          "{{ products | map(attribute='tags.0', default='-') | list }} {{ products | selectattr('vendor.tier', 'eq', 1) | map(attribute='name') | list }}",
          "{{ products | groupby('vendor.tier') | map(attribute='list') | map('length') | list }}",
          "{{ products | sum(attribute='price') }} {{ products | map(attribute='price') | max }} {{ products | min(attribute='vendor.name') }}",
          "{{ products | selectattr('tags') | map(attribute='name') | list }} {{ products | selectattr('tags', 'ne', []) | list | length }}",
          "{{ products | unique }}",
          "{{ products[0] | dictsort | first }} {{ products[0].vendor | dictsort(by='value') }}",
          "{{ products | map(attribute='vendor') | map(attribute='tier') | unique | list }} {{ products | map(attribute='vendor') | list | length }}",
          "{{ range(3) | list | tojson }} {{ dict(a=1, b=[1]) | tojson }} {{ products | length * 2 }} {{ (products | first).name | upper }}",
          "{% for p in products | sort(attribute='price', reverse=true) %}{{ p.name }}={{ '%.2f' | format(p.price) }}{{ ', ' if not loop.last }}{% endfor %}",
          "{{ '0b101' | int(0) }} {{ '0o17' | int(base=0) }} {{ '😀x' | list }} {{ [1, 2, 3, 4, 5] | batch(2, 0) | map('sum') | list }}",
          "{% for a, b in products | map(attribute='name') | zip_missing %}{% endfor %}",
          "{% filter indent(2, true) %}a\nb{% endfilter %}", "{% filter truncate(10) %}a long long long text{% endfilter %}",
          "{% macro row(cells) %}{% for c in cells %}<td>{{ c }}</td>{% endfor %}{% endmacro %}{% for p in products %}<tr>{{ row([p.name, p.price]) }}</tr>{% endfor %}",
          "{% macro m() %}{% set inner %}[{{ varargs | join(',') }}]{% endset %}{{ inner }}{% endmacro %}{{ m(1, 2) }}",
          "{% for p in products %}{% if loop.changed(p.vendor.tier) %}tier {{ p.vendor.tier }}:{% endif %}{{ p.name }} {% endfor %}",
          "{% for x in range(5) %}{{ loop.cycle(*['a', 'b', 'c']) }}{% endfor %}",
          "{% set ns = namespace(total=0, names=[]) %}{% for p in products %}{% set ns.total = ns.total + p.price %}{% set ns.names = ns.names + [p.name] %}{% endfor %}{{ ns.total }} {{ ns.names }}",
          "{{ products | selectattr('price', 'gt', 2) | map(attribute='name') | list }} {{ products | rejectattr('price', 'in', [2, 3.5]) | map(attribute='name') | list }}",
          "{{ 1000000 is sameas 1000000 }} {{ 'abc' is sameas 'abc' }} {{ [] is sameas [] }}"]:
    add("paths", t, {"products": PRODUCTS})

# ---------------------------------------------------------------- pprint
for t in ["{{ range(40) | list | pprint }}", "{{ {'beta': 'x' * 50, 'alpha': range(20) | list, 'gamma': {'nested': [1, 2, 3], 'k': 'v' * 70}} | pprint }}",
          "{{ rows | pprint }}", "{{ (1, 'two', none) | pprint }}", "{{ {'z': 1, 'a': 2} | pprint }}"]:
    add("pprint", t, {"rows": [{"id": i, "name": "item %d" % i} for i in range(4)]})

# ---------------------------------------------------------------- views, none handling, conversions
for t, ctx in [
    ("{{ d.keys() | sort }} {{ d.values() | sum }} {{ d.items() | selectattr('1', 'gt', 1) | list }} {{ 'a' in d.keys() }} {{ ('a', 1) in d.items() }}", {"d": {"b": 2, "a": 1}}),
    ("{{ d.items() | list | length }} {{ d.keys() | length }} {{ d.values() | list }} {{ d.keys() | first }}", {"d": {"b": 2, "a": 1}}),
    ("{{ none | upper }} {{ '' | first }}| {{ {} | tojson }} {{ [] | tojson }} {{ 3.0 | int }} {{ '3.0' | int }} {{ 1e400 }} {{ -1e400 }}", {}),
    ("{{ none | length }}", {}), ("{{ none | list }}", {}), ("{{ 5 | list }}", {}), ("{{ none | join }}", {}),
    ("{{ '%s' % (1,) }} {{ '%s-%s' % ('a', none) }} {{ '%(x)s' % {'x': '<'} }} {{ ('%s' | safe) % '<' }}", {}),
    ("{% macro m(a) %}{{ a }}{{ varargs }}{{ caller(1, 2) }}{% endmacro %}{% call(x, y) m(0, 9) %}[{{ x + y }}]{% endcall %}", {}),
    ("{% set ns = namespace(a=1) %}{{ ns.b }}|{{ ns['a'] }}|{{ ns.a is defined }}", {}),
    ("{{ x ~ y }} {{ x + y }} {{ x * 2 }} {{ (x ~ y) | length }}", {"x": "ab", "y": "cd"}),
    ("{{ items | selectattr('0', 'equalto', 'a') | list }} {{ items | map(attribute='1') | list }} {{ items | sort(attribute='1') | first }}", {"items": [["a", 3], ["b", 1], ["a", 2]]}),
    ("{{ user.profile_fields.by_id('42') }}|{{ user.profile_fields.by_id(99) }}|{{ user.profile_fields.by_id(99) | default('n/a', true) }}", {"user": {"profile_fields": {"42": "Eng"}}}),
]:
    add("views", t, ctx)


# ---------------------------------------------------------------- the benchmark's reshape template (bench/templates.bench.ts)
BENCH_RESHAPE = '{%- set data = response.body | from_json -%}\n{%- set currency = \'EUR\' -%}\n{\n  "status": {{ response.status_code }},\n  "count": {{ data[\'items\'] | length }},\n  "items": [\n  {%- for item in data[\'items\'] %}\n    {\n      "id": {{ item.id | tojson }},\n      "sku": {{ item.sku | upper | tojson }},\n      "title": {{ item.title | tojson }},\n      "summary": {{ (item.description | default(\'\', true) | truncate(40)) | tojson }},\n      "price": {{ item.price | round(2) }},\n      "currency": "{{ currency }}",\n      "in_stock": {{ \'true\' if item.stock > 0 else \'false\' }},\n      "tags": {{ item.tags | join(\',\') | tojson }},\n      "vendor": {{ item.vendor.name | tojson }},\n      {%- if item.discount %}\n      "discounted": {{ (item.price * (1 - item.discount)) | round(2) }},\n      {%- endif %}\n      "position": {{ loop.index }}\n    }{% if not loop.last %},{% endif %}\n  {%- endfor %}\n  ],\n  "first_id": {{ data[\'items\'][0].id }}\n}'
BENCH_ITEMS = [{"id": 1000 + i, "sku": f"sku-{i}", "title": f'Item <{i}> "quoted" & more',
                "description": None if i % 3 == 0 else f"A fairly long description of item number {i}, long enough to truncate.",
                "price": 9.99 + i * 1.25, "stock": i % 4, "discount": 0.1 if i % 5 == 0 else 0, "tags": ["a", "b", f"t{i}"],
                "vendor": {"name": f"Vendor {i % 7}", "country": "DE"}} for i in range(50)]
add("bench", BENCH_RESHAPE, {"response": {"body": json.dumps({"items": BENCH_ITEMS}, separators=(",", ":")), "status_code": 200,
                                          "headers": {"content-type": "application/json"}}}, id="bench-reshape")


# ---------------------------------------------------------------- mutating methods (Jinja2's sandbox allows them)
ROWS = {"data": {"rows": [1, 2], "meta": {"n": 2}}, "users": [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}],
        "items": [{"k": "a", "v": 1}, {"k": "b", "v": 2}, {"k": "a", "v": 3}]}
for t, ctx in [
    ("{% set rows = [] %}{% for x in [1, 2, 3] %}{% set _ = rows.append(x * 2) %}{% endfor %}{{ rows }}", {}),
    ("{% set l = [1] %}{{ l.append(2) }}|{{ l.extend([3, 4]) }}|{{ l.insert(0, 0) }}|{{ l }}", {}),
    ("{% set l = [1, 2, 3, 4] %}{{ l.pop() }}|{{ l.pop(0) }}|{{ l.pop(-1) }}|{{ l }}", {}),
    ("{% set l = [3, 1, 2, 1] %}{{ l.remove(1) }}|{{ l }}|{{ l.reverse() }}|{{ l }}|{{ l.sort() }}|{{ l }}|{{ l.sort(reverse=true) }}|{{ l }}|{{ l.clear() }}|{{ l }}", {}),
    ("{% set l = [1, 2, 3] %}{{ l.insert(-1, 9) }}{{ l }}{{ l.insert(100, 7) }}{{ l }}{{ l.insert(-100, 5) }}{{ l }}", {}),
    ("{% set l = [] %}{{ l.extend('ab') }}{{ l.extend({'k': 1}) }}{{ l.extend(range(2)) }}{{ l.extend(l) }}{{ l }}", {}),
    ("{% set d = {'a': 1} %}{{ d.update({'b': 2}) }}|{{ d.update(c=3) }}|{{ d.update([('d', 4)]) }}|{{ d.update(['ef']) }}|{{ d }}", {}),
    ("{% set d = {'a': 1, 'b': 2} %}{{ d.pop('a') }}|{{ d.pop('x', 'dflt') }}|{{ d.popitem() }}|{{ d }}|{{ d.setdefault('k', []) }}|{{ d.setdefault('k', 5) }}|{{ d.setdefault('n') }}|{{ d }}|{{ d.clear() }}|{{ d }}", {}),
    ("{% set d = {'a': 1, 'b': 2} %}{% set _ = d.pop('a') %}{% set _ = d.update({'a': 3}) %}{{ d }}", {}),
    ("{% set d = {1: 'a'} %}{% set _ = d.update({true: 'b', 1.0: 'c'}) %}{{ d }}", {}),
    ("{% set out = {} %}{% for u in users %}{% if out.update({u.id: u.name}) %}{% endif %}{% endfor %}{{ out }}", ROWS),
    ("{% set groups = {} %}{% for x in items %}{% set _ = groups.setdefault(x.k, []).append(x.v) %}{% endfor %}{{ groups }}", ROWS),
    ("{% set r = data.rows %}{% set _ = r.append(9) %}{% set _ = data.meta.update(n=3) %}{{ data }}|{{ data.rows is sameas r }}", ROWS),
    ("{% set d = body | from_json %}{% set _ = d.update({'x': 1}) %}{% set _ = d['items'].append(3) %}{{ d }}", {"body": '{"items": [1, 2], "k": {"n": null}}'}),
    ("{% set ns = namespace(rows=[]) %}{% for x in [1, 2] %}{% set _ = ns.rows.append(x) %}{% endfor %}{{ ns.rows }}", {}),
    ("{% macro key(x) %}{{ x.n }}{% endmacro %}{% set l = [{'n': 'b'}, {'n': 'a'}, {'n': 'c'}] %}{% set _ = l.sort(key=key) %}{{ l | map(attribute='n') | join }}", {}),
    ("{% set l = [('b', 1), ('a', 2), ('b', 0)] %}{% set _ = l.sort() %}{{ l }}", {}),
    ("{% set l = [1, 2] %}{% for x in l %}{% if x < 4 %}{% set _ = l.append(x + 2) %}{% endif %}{{ x }}{% endfor %}|{{ l }}", {}),
    ("{% macro f(acc=[]) %}{% set _ = acc.append(1) %}{{ acc }}{% endmacro %}{{ f() }}{{ f() }}", {}),
    ("{% for i in range(2) %}{% set l = [] %}{% set _ = l.append(i) %}{{ l }}{% endfor %}", {}),
    ("{% set l = [1] %}{{ l.append(2) or l }} {{ l.pop() if l else 'empty' }} {{ l | length }}", {}),
    ("{{ [].pop() }}", {}), ("{{ [1].pop(5) }}", {}), ("{{ {}.pop('x') }}", {}), ("{{ {}.popitem() }}", {}),
    ("{{ [1].remove(2) }}", {}), ("{{ [1, 'a'].sort() }}", {}), ("{{ (1, 2).append(3) }}", {}), ("{{ {}.update(1) }}", {}),
    ("{{ {}.update([1, 2]) }}", {}), ("{{ [].append() }}", {}), ("{{ [].sort(1) }}", {}), ("{{ {}.update({[]: 1}) }}", {}),
    ("{{ 'abc'.append }}", {}), ("{{ [].insert('a', 1) }}", {}),
]:
    add("mutate", t, ctx)
add("mutate", "{% set _ = rows.append('<b>') %}{{ rows }}", {"rows": ["&"]}, field="header")

# ---------------------------------------------------------------- unsafe attributes and dict keys that look like attributes
LOOKALIKE = {"d": {"__proto__": "own", "constructor": "Ferrari", "_links": {"self": "/x"}, "__class__": "key", "_": 1}}
for t, ctx in [
    ("{{ d.__proto__ }}|{{ d.constructor }}|{{ d._links.self }}|{{ d._ }}|{{ d.__class__ }}|{{ d['__class__'] }}|{{ d['__proto__'] }}", LOOKALIKE),
    ("{{ d | attr('__proto__') }}|{{ d | attr('constructor') }}|{{ d | attr('_links') }}", LOOKALIKE),
    ("{{ [1].pop.__self__ }}|{{ {'__proto__': 1}.__proto__ }}|{{ {'_x': 1}._x }}|{{ {'__dict__': 2}.__dict__ }}|{{ {}.__dict__ }}", {}),
    ("{{ x.__class__ }}|{{ x.__class__.__class__ }}|{{ x._undefined_obj }}|{{ x.__class__ is defined }}", {}),
    ("{{ x.__class__.__mro__ }}", {}), ("{{ x._foo }}", {}), ("{{ x | attr('foo') }}", {}),
    ("{% set ns = namespace(_a=1, b=2) %}{{ ns._a }}|{{ ns.__class__ }}|{{ ns.__dict__ }}|{{ ns | attr('b') }}", {}),
    ("{{ {'__proto__': 1} | attr('__proto__') }}|{{ {'a': 1} | attr('a') }}|{{ x | attr('__class__') }}", {}),
    ("{{ {'_links': {'self': 'u'}}['_links'].self }}|{{ {'a': 1}['__class__'] }}|{{ [1]['__len__'] }}", {}),
    ("{{ '{0._x}'.format({'_x': 1}) }}|{{ '{0[_x]}'.format({'_x': 1}) }}|{{ '{0.__class__}'.format(1) }}", {}),
    ("{{ (1).__class__ }}|{{ none.__class__ }}|{{ true.__class__ }}|{{ [].__len__ }}|{{ {}.__len__ }}|{{ lipsum.__globals__ }}|{{ range.__self__ }}", {}),
    ("{{ ''.__class__ | default('fallback') }}|{% for c in ''.__class__ %}{{ c }}{% endfor %}|{{ ''.__class__ ~ 'x' }}|{{ ''.__class__ | string }}|{{ [''.__class__] }}|{{ ''.__class__ == ''.__class__ }}", {}),
    ("{{ '%s' % ''.__class__ }}|{{ ''.__class__ | length }}|{{ not ''.__class__ }}", {}),
    ("{{ ''.__class__() }}", {}), ("{{ ''.__class__ + 1 }}", {}), ("{{ ''.__class__.__name__ }}", {}), ("{{ ''.__class__ | tojson }}", {}),
    ("{{ ''.__class__[0] }}", {}), ("{{ cycler.__init__.__globals__ }}", {}), ("{{ [].append.__self__.append(1) }}", {}),
    ("{{ [1, 2] | map(attribute='__class__') | list }}|{{ [{'_k': 1}] | map(attribute='_k') | list }}|{{ [{'_k': 1}] | selectattr('_k') | list }}", {}),
    ("{{ user.profile_fields._fields }}|{{ user.profile_fields.__class__ }}", {"user": USER}),
    ("{% for x in [1] %}{{ loop._after }}|{{ loop.__class__ }}{% endfor %}", {}),
]:
    add("unsafe", t, ctx)
add("mutate", "{% set l = [1, 2] %}{% for x in l %}{{ loop.length }}{{ loop.last }}{% set _ = l.append(3) if l | length < 4 %}{% endfor %}", {})
add("mutate", "{% set l = [1, 2] %}{% for x in l %}{% set _ = l.append(3) if l | length < 4 %}{{ loop.revindex }}{% endfor %}", {})
