/** For the fixture tests: the JSON types of a value, field by field, to compare answers with documented examples. */

export type JsonShape = string | JsonShape[] | { [key: string]: JsonShape };

/** The JSON types of a value, field by field (arrays by their first element). */
export function shapeOf(value: unknown): JsonShape {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? [] : [shapeOf(value[0])];
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, shapeOf(v)]),
    );
  }
  return typeof value;
}

/** Field paths of `value` (keys of `tags` excluded: user data) that `known` does not list. */
export function unknownFields(value: unknown, known: ReadonlySet<string>, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => unknownFields(v, known, path));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
    k === 'tags'
      ? []
      : [...(known.has(k) ? [] : [`${path}${k}`]), ...unknownFields(v, known, `${path}${k}.`)],
  );
}

/** Every field name anywhere in `value` (for "documented fields" sets built from examples). */
export function fieldNames(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(fieldNames);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => [k, ...fieldNames(v)]);
}
