import { describe, expect, it } from 'vitest';

import { configJsonSchema } from './config-json-schema.js';

type Schema = Record<string, unknown>;

/** Every schema reachable from `schema` that is an object with declared properties, with its path. */
function objectSchemas(schema: Schema, path: string, out: [string, Schema][] = []): [string, Schema][] {
  const props = schema['properties'] as Record<string, Schema> | undefined;
  if (props) {
    out.push([path, schema]);
    for (const [key, child] of Object.entries(props)) objectSchemas(child, `${path}.${key}`, out);
  }
  const values = schema['additionalProperties'];
  if (typeof values === 'object') objectSchemas(values as Schema, `${path}.<name>`, out);
  for (const member of (schema['oneOf'] ?? schema['anyOf'] ?? []) as Schema[])
    objectSchemas(member, path, out);
  return out;
}

describe('configJsonSchema', () => {
  const schema = configJsonSchema();

  it('generates a draft 2020-12 schema with the top-level keys and no others', () => {
    expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema['title']).toBe('cofre configuration');
    expect(Object.keys(schema['properties'] as Schema)).toEqual([
      'backends',
      'accounts',
      'agents',
      'orders',
      'addressBook',
      'policies',
      'audit',
      'server',
      'state',
      'approvals',
      'rotation',
      'services',
      'databases',
      'chains',
      'wallets',
      'encryptionKeys',
    ]);
    expect(schema['additionalProperties']).toBe(false);
  });

  it('describes every field and closes every mapping', () => {
    const objects = objectSchemas(schema, '$');
    expect(objects.length).toBeGreaterThan(8);
    for (const [path, object] of objects) {
      expect(object['additionalProperties'], path).toBe(false);
      for (const [key, child] of Object.entries(object['properties'] as Record<string, Schema>)) {
        expect(typeof child['description'], `${path}.${key}`).toBe('string');
      }
    }
  });

  it('shows input-side defaults (durations as written, not milliseconds)', () => {
    const props = schema['properties'] as Record<string, Schema>;
    const agents = (props['agents']?.['properties'] as Record<string, Schema>)['tokenTtl'];
    expect(agents?.['default']).toBe('30d');
    const server = props['server']?.['properties'] as Record<string, Schema>;
    expect(server['host']?.['default']).toBe('127.0.0.1');
    expect(server['port']?.['default']).toBe(8787);
  });

  it('is JSON and frozen', () => {
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
    expect(Object.isFrozen(schema)).toBe(true);
  });
});
