import SerializerSelector from '@fastify/fast-json-stringify-compiler';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';

/**
 * Route schemas compiled on a route's first use instead of at start-up. The admin API declares
 * over fifty request schemas and as many response schemas; compiling them all (ajv validators,
 * fast-json-stringify serializers) was about a third of a second of every start, and most processes
 * never serve most admin routes. What laziness would lose — a broken schema failing at start — is
 * kept by `compileAllSchemas`, which the test suite calls on a fully built app.
 */

const uncompiled = new Set<() => void>();

/** Runs `compile` once, the first time the returned getter is called. */
function onFirstUse<T>(compile: () => T): () => T {
  let compiled: T | undefined;
  let done = false;
  const get = (): T => {
    if (!done) {
      compiled = compile();
      done = true;
      uncompiled.delete(get);
    }
    return compiled as T;
  };
  uncompiled.add(get);
  return get;
}

/** A route validator that fastify calls like ajv's compiled function (result, then `.errors`). */
export interface LazyValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

/** A validator for `schema` on `ajv`, compiled on its first call. */
export function validatorOnFirstUse(ajv: Ajv, schema: object): LazyValidator {
  const compiled = onFirstUse((): ValidateFunction => ajv.compile(schema));
  const validator: LazyValidator = (data) => {
    const validate = compiled();
    const valid = validate(data);
    validator.errors = validate.errors;
    return valid;
  };
  return validator;
}

type SerializerFactory = ReturnType<typeof SerializerSelector>;

/**
 * fastify's own response serializer factory (fast-json-stringify, with the shared schemas it is
 * given), each route's serializer built on the route's first answer. For fastify's
 * `schemaController.compilersFactory.buildSerializer`.
 */
export function serializersOnFirstUse(): SerializerFactory {
  const fastJsonStringify = SerializerSelector();
  return (externalSchemas, serializerOptions) => {
    const compile = fastJsonStringify(externalSchemas, serializerOptions);
    return (route) => {
      const serializer = onFirstUse(() => compile(route));
      return (doc) => serializer()(doc);
    };
  };
}

/** Compiles every route schema not compiled yet; the number compiled now. */
export function compileAllSchemas(): number {
  const pending = [...uncompiled];
  for (const compile of pending) compile();
  return pending.length;
}
