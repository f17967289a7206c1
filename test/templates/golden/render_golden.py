#!/usr/bin/env python3
"""Renders the golden corpus with real Jinja2 and writes expected.json.

    python3 test/templates/golden/render_golden.py

Environment: jinja2 3.1 SandboxedEnvironment, autoescape on for body fields and off for the
others (docs/design.md#autoescape-and-unknown-names), plus the reference's filters and functions implemented the way the
reference documents them (from_json = json.loads, json_encode = json.dumps marked safe,
base64_encode/decode over UTF-8, get_secret/get_variable leaving the literal expression for an
unknown name, now(offset) = int(now) + offset, jwt_encode = PyJWT's jwt.encode). The test suite
replays expected.json without Python (test/templates/golden.test.ts).
"""
import base64
import hashlib
import hmac
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ next to the corpus

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

sys.path.insert(0, os.path.dirname(__file__))
from corpus import CASES  # noqa: E402

AUTOESCAPE_FIELDS = {"request_body", "response_body", "composite_request_body", "composite_response_body"}


class MissingRef(jinja2.Undefined):
    """get_secret/get_variable with an unknown name: prints the original expression."""

    def __init__(self, fn, name):
        super().__init__(hint=f"{fn}({name!r}) is not defined for this tenant")
        self._text = "{{ %s('%s') }}" % (fn, name)

    def __str__(self):
        return self._text


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwt_encode(payload, key, algorithm="HS256", headers=None):
    """PyJWT 2.x jwt.encode for HS*/RS* (the deterministic algorithms)."""
    if not isinstance(payload, dict):
        raise TypeError("Expecting a dict object, as JWT only supports JSON objects as payloads.")
    header = {"typ": "JWT", "alg": algorithm}
    if headers:
        header.update(headers)
        if headers.get("alg"):
            algorithm = headers["alg"]
    if not header["typ"]:
        del header["typ"]
    json_header = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    json_payload = json.dumps(payload, separators=(",", ":")).encode()
    signing_input = b64url(json_header) + "." + b64url(json_payload)
    if algorithm.startswith("HS"):
        digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[algorithm]
        sig = hmac.new(key.encode(), signing_input.encode(), digest).digest()
    elif algorithm.startswith("RS"):
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        h = {"RS256": hashes.SHA256(), "RS384": hashes.SHA384(), "RS512": hashes.SHA512()}[algorithm]
        pk = serialization.load_pem_private_key(key.encode(), password=None)
        sig = pk.sign(signing_input.encode(), padding.PKCS1v15(), h)
    else:
        raise NotImplementedError(algorithm)
    return signing_input + "." + b64url(sig)


class ProfileFields:
    def __init__(self, fields):
        self._fields = fields

    def by_id(self, n):
        return self._fields.get(str(n))


def make_env(autoescape, case):
    env = SandboxedEnvironment(autoescape=autoescape)
    secrets = case.get("secrets", {})
    variables = case.get("variables", {})
    now = case.get("now", 1700000000)

    def get_secret(name):
        return secrets[name] if name in secrets else MissingRef("get_secret", name)

    def get_variable(name):
        return variables[name] if name in variables else MissingRef("get_variable", name)

    env.globals.update(
        get_secret=get_secret,
        get_variable=get_variable,
        now=lambda offset=0: int(now) + offset,
        jwt_encode=jwt_encode,
    )
    env.filters.update(
        from_json=lambda v: json.loads(v),
        json_encode=lambda v: Markup(json.dumps(v)),
        base64_encode=lambda v: base64.b64encode(v if isinstance(v, bytes) else str(v).encode("utf-8")).decode("ascii"),
        base64_decode=lambda v: base64.b64decode(v).decode("utf-8"),
    )
    return env


def prepare_context(case):
    ctx = json.loads(json.dumps(case.get("context", {})))
    user = ctx.get("user")
    if isinstance(user, dict) and "profile_fields" in user:
        user["profile_fields"] = ProfileFields(user["profile_fields"] or {})
    for name, text in case.get("bytes", {}).items():
        ctx[name] = text.encode("utf-8")
    return ctx


def render(case):
    field = case.get("field", "response_body")
    env = make_env(field in AUTOESCAPE_FIELDS, case)
    try:
        out = env.from_string(case["template"]).render(**prepare_context(case))
        # CPython object addresses change on every run; keep the file reproducible
        return {"output": re.sub(r" at 0x[0-9a-f]+", " at 0x…", out)}
    except Exception as e:  # noqa: BLE001 - every failure is an expected "error" result
        return {"error": type(e).__name__, "message": str(e)}


def main():
    seen = set()
    results = []
    for case in CASES:
        if case["id"] in seen:
            raise SystemExit(f"duplicate case id {case['id']}")
        seen.add(case["id"])
        result = render(case)
        entry = {k: v for k, v in case.items() if k in ("id", "template", "context", "field", "now", "secrets", "variables", "bytes")}
        entry["expected"] = result
        results.append(entry)
    path = os.path.join(os.path.dirname(__file__), "expected.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({"jinja2": jinja2.__version__, "cases": results}, fh, indent=1, ensure_ascii=False)
        fh.write("\n")
    errors = sum(1 for r in results if "error" in r["expected"])
    print(f"{len(results)} cases ({errors} expected errors) -> {path}")


if __name__ == "__main__":
    main()
