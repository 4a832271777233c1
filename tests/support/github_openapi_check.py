#!/usr/bin/env python3
"""Checks the GitHub answers forge_fake.py logged against GitHub's published OpenAPI description
(npm `@octokit/openapi`, generated/api.github.com.json): each logged request is matched to its
operation by method and path template, and the answer's body validated against the schema that
operation documents for the answer's status.

Usage: github_openapi_check.py DESCRIPTION LOG_FILE

Prints `ok OPERATION_ID STATUS` per checked answer, `not-rest METHOD PATH` for GraphQL, and a
`FAIL ...` line for each answer that is undocumented or does not validate; exits 1 on any FAIL.
GitLab answers (/api/v4/...) are not GitHub's and are left out.

OpenAPI 3.0 schemas are JSON Schema draft 4 plus `nullable`: each `nullable: true` becomes an
`anyOf` with `{"type": "null"}`; `#/components/schemas/X` references become `#/definitions/X`.
"""

import json
import re
import sys

import jsonschema

# OpenAPI's own keywords that JSON Schema does not know (annotations, or `nullable` done above).
OPENAPI_ONLY = {"nullable", "discriminator", "example", "examples", "xml", "externalDocs", "readOnly", "writeOnly", "deprecated"}


def schema(node):
    """An OpenAPI 3.0 schema as a draft 4 JSON Schema."""
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in OPENAPI_ONLY:
            continue
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {name: schema(sub) for name, sub in value.items()}
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [schema(sub) for sub in value]
        elif key in ("items", "additionalProperties", "not"):
            out[key] = [schema(sub) for sub in value] if isinstance(value, list) else schema(value)
        elif key == "$ref":
            out[key] = value.replace("#/components/schemas/", "#/definitions/")
        else:
            out[key] = value
    if node.get("nullable") is True:
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def main(description_file, log_file):
    description = json.load(open(description_file))
    definitions = {name: schema(s) for name, s in description["components"]["schemas"].items()}
    # Literal path segments first: `/pulls/{pull_number}` before any template that swallows it.
    templates = sorted(
        ((re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path) for path in description["paths"]),
        key=lambda t: t[1].count("{"),
    )
    failed = False
    for line in open(log_file):
        entry = json.loads(line)
        path = entry["path"].split("?", 1)[0]
        method, status = entry["method"].lower(), str(entry["status"])
        if path.startswith("/api/v4/"):
            continue
        if path == "/graphql":
            print(f"not-rest {entry['method']} {path}")
            continue
        found = next((t for regex, t in templates if regex.match(path) and method in description["paths"][t]), None)
        if found is None:
            print(f"FAIL {entry['method']} {path}: no such operation in the description")
            failed = True
            continue
        operation = description["paths"][found][method]
        response = operation["responses"].get(status) or operation["responses"].get("default")
        if response is None:
            print(f"FAIL {operation['operationId']} {status}: the description documents no {status} answer")
            failed = True
            continue
        if "$ref" in response:
            response = description["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        content = response.get("content", {}).get("application/json")
        if content is None:
            ok = entry["response"] in (None, "", {})
            print(("ok" if ok else "FAIL") + f" {operation['operationId']} {status}" + ("" if ok else ": a body where none is documented"))
            failed |= not ok
            continue
        validator = jsonschema.Draft4Validator(
            {**schema(content["schema"]), "definitions": definitions},
            format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER,
        )
        errors = sorted(validator.iter_errors(entry["response"]), key=lambda e: list(e.absolute_path))
        if errors:
            failed = True
            for error in errors[:10]:
                where = "/".join(str(p) for p in error.absolute_path)
                print(f"FAIL {operation['operationId']} {status} at /{where}: {error.message[:300]}")
        else:
            print(f"ok {operation['operationId']} {status}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
