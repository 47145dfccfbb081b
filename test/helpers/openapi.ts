// A small checker for the part of OpenAPI 3.0 that docs/openapi.yaml uses: responses are checked
// against the document the project ships. A keyword it does not know is an error, so the document
// cannot grow a rule that would silently go unchecked.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './project.js';

export type Schema = Record<string, unknown>;

export interface Operation {
  operationId?: string;
  requestBody?: Schema;
  responses: Record<string, Schema>;
}

export interface OpenApiDoc {
  servers?: unknown;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; responses?: Record<string, Schema> };
}

export const OPENAPI_PATH = join(ROOT, 'docs', 'openapi.yaml');
/**
 * Cloud Hypervisor's published document is reference material beside the project, not part of it:
 * NODEVMM_CH_OPENAPI, or ../shared/reference/ next to the checkout.
 */
export const CH_OPENAPI_PATH =
  process.env.NODEVMM_CH_OPENAPI ?? join(ROOT, '..', 'shared', 'reference', 'cloud-hypervisor-openapi.yaml');

export function loadOpenApi(path = OPENAPI_PATH): OpenApiDoc {
  return parse(readFileSync(path, 'utf8')) as OpenApiDoc;
}

const ANNOTATIONS = new Set(['description', 'format', 'default', 'example', 'title']);
const CHECKED = new Set(['type', 'properties', 'required', 'additionalProperties', 'items', 'enum', '$ref', 'minimum', 'maximum']);

/** Follows a local "#/components/…" reference. */
export function resolveRef(doc: OpenApiDoc, ref: string): Schema {
  if (!ref.startsWith('#/')) throw new Error(`only local references are supported: ${ref}`);
  let node: unknown = doc;
  for (const part of ref.slice(2).split('/')) {
    node = (node as Record<string, unknown> | undefined)?.[part];
  }
  if (node === undefined) throw new Error(`unresolved reference ${ref}`);
  return node as Schema;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Everything in `value` that does not satisfy `schema`, as readable lines ('' path = the root). */
export function schemaProblems(doc: OpenApiDoc, schema: Schema, value: unknown, where = '$'): string[] {
  for (const key of Object.keys(schema)) {
    if (!CHECKED.has(key) && !ANNOTATIONS.has(key) && !key.startsWith('x-')) {
      throw new Error(`schema keyword '${key}' at ${where} is not supported by the test checker`);
    }
  }
  if (typeof schema.$ref === 'string') return schemaProblems(doc, resolveRef(doc, schema.$ref), value, where);
  const problems: string[] = [];
  const actual = typeOf(value);
  const type = schema.type as string | undefined;
  if (type !== undefined) {
    const ok = type === actual || (type === 'number' && actual === 'integer');
    if (!ok) return [`${where}: expected ${type}, got ${actual} (${JSON.stringify(value)?.slice(0, 80)})`];
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) {
    problems.push(`${where}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) problems.push(`${where}: ${value} < minimum ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) problems.push(`${where}: ${value} > maximum ${schema.maximum}`);
  }
  if (actual === 'array' && schema.items) {
    (value as unknown[]).forEach((item, i) => problems.push(...schemaProblems(doc, schema.items as Schema, item, `${where}[${i}]`)));
  }
  if (actual === 'object') {
    const object = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const name of (schema.required ?? []) as string[]) {
      if (!(name in object)) problems.push(`${where}: missing required property ${name}`);
    }
    for (const [name, item] of Object.entries(object)) {
      if (name in properties) problems.push(...schemaProblems(doc, properties[name], item, `${where}.${name}`));
      else if (schema.additionalProperties === false) problems.push(`${where}: property ${name} is not in the schema`);
      else if (typeof schema.additionalProperties === 'object') {
        problems.push(...schemaProblems(doc, schema.additionalProperties as Schema, item, `${where}.${name}`));
      }
    }
  }
  return problems;
}

export interface CheckedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * Checks one response of `endpoint` (e.g. "vm.info") against the document: the status must be listed
 * for that method, a JSON body must match its schema, and a response without content must be empty.
 */
export function responseProblems(doc: OpenApiDoc, method: string, endpoint: string, response: CheckedResponse): string[] {
  const operation = doc.paths[`/${endpoint}`]?.[method.toLowerCase()];
  if (!operation) return [`${method} /${endpoint} is not in the document`];
  let declared = operation.responses[String(response.status)];
  if (!declared) return [`${method} /${endpoint}: status ${response.status} is not documented (${response.text})`];
  if (typeof declared.$ref === 'string') declared = resolveRef(doc, declared.$ref);
  const content = declared.content as Record<string, { schema: Schema }> | undefined;
  const json = content?.['application/json'];
  if (!json) return response.text === '' ? [] : [`${method} /${endpoint} ${response.status}: expected no body, got ${response.text}`];
  if (!String(response.headers['content-type'] ?? '').startsWith('application/json')) {
    return [`${method} /${endpoint} ${response.status}: content-type is ${response.headers['content-type']}`];
  }
  let body: unknown;
  try {
    body = JSON.parse(response.text);
  } catch {
    return [`${method} /${endpoint} ${response.status}: body is not JSON: ${response.text}`];
  }
  return schemaProblems(doc, json.schema, body).map((p) => `${method} /${endpoint} ${response.status}: ${p}`);
}

/** An error response to a request no path describes (404 unknown path, 405, 413, 400): an ErrorBody. */
export function errorBodyProblems(doc: OpenApiDoc, response: CheckedResponse): string[] {
  let body: unknown;
  try {
    body = JSON.parse(response.text);
  } catch {
    return [`error body is not JSON: ${response.text}`];
  }
  return schemaProblems(doc, { $ref: '#/components/schemas/ErrorBody' }, body);
}
