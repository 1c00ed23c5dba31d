import * as z from 'zod';

/**
 * The wire's zod schemas as JSON Schema: for Fastify's serializers, and for the components of the
 * OpenAPI document. Both come from the same schemas, so that what is written and what is described
 * cannot part.
 */

type JsonSchema = Record<string, unknown>;

/** Every `required` list left out, at any depth. */
function withoutRequired(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutRequired);
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key]) => key !== 'required')
      .map(([key, value]) => [key, withoutRequired(value)]),
  );
}

/**
 * The schema of an answer, as Fastify compiles it into the route's serializer (fields in the
 * schema's order, others left out). The serializer writes what there is: a field the document
 * requires but an answer lacks is left out rather than turned into a 500.
 */
export function serializerSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { target: 'draft-07', io: 'output' });
  return withoutRequired(json) as JsonSchema;
}

/**
 * JSON Schema 2020-12 (OpenAPI 3.1's) of each named schema, each one another names referred to by
 * `#/components/schemas/<name>`. Requests are described as a client may send them (zod's input side).
 */
export function componentSchemas<Name extends string>(
  schemas: Readonly<Record<Name, z.ZodType>>,
): Record<Name, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries<z.ZodType>(schemas)) registry.add(schema, { id });
  const { schemas: generated } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io: 'input',
    uri: (id) => `#/components/schemas/${id}`,
    // zod keeps a reading field's examples for its output side only; ours are what clients send.
    override: ({ zodSchema, jsonSchema }) => {
      const examples = z.globalRegistry.get(zodSchema)?.examples;
      if (Array.isArray(examples) && jsonSchema.examples === undefined) jsonSchema.examples = examples;
    },
  });
  return Object.fromEntries(
    Object.entries(generated).map(([id, { $schema: _, $id: __, ...json }]) => [id, json as JsonSchema]),
  ) as Record<Name, JsonSchema>;
}
