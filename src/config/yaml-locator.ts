import {
  type Document,
  isAlias,
  isCollection,
  isMap,
  isNode,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
} from 'yaml';

/** A 1-based line and column in the config file. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** Where to point for a path that names a mapping entry. */
export interface LocateOptions {
  /** `key` points at the mapping key (unknown keys, bad names); the default points at the value. */
  readonly at?: 'key' | 'value';
  /** 0-based index of the character inside a string value to point at (a reference parser's column). */
  readonly charIndex?: number;
}

/**
 * Maps a path into the parsed YAML (`['backends', 'local', 'cache', 'ttl']`) to the line and column where it is
 * written, so validation issues read like compiler errors. Paths that do not exist in the file (missing required
 * keys, defaults) fall back to the nearest parent that does. Holds the document; not meant to outlive one load.
 */
export class YamlLocator {
  readonly #doc: Document.Parsed;
  readonly #lines: LineCounter;
  readonly #text: string;

  constructor(doc: Document.Parsed, lines: LineCounter, text: string) {
    this.#doc = doc;
    this.#lines = lines;
    this.#text = text;
  }

  /** Line and column of a character offset in the source. */
  position(offset: number): SourcePosition {
    const { line, col } = this.#lines.linePos(offset);
    return { line, column: col };
  }

  /**
   * Locates `path`. Scalars and flow collections point at their value; block collections at their key, which is
   * the line a reader looks for.
   */
  locate(path: readonly PropertyKey[], options: LocateOptions = {}): SourcePosition {
    let node = this.#deref(this.#doc.contents);
    let fallback = startOf(node) ?? 0;
    for (const [i, segment] of path.entries()) {
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) break;
        const keyOffset = startOf(pair.key) ?? fallback;
        const value = this.#deref(pair.value);
        if (last) {
          if (options.at === 'key' || value === undefined) return this.position(keyOffset);
          if (isScalar(value)) return this.position(this.#scalarOffset(value, options.charIndex));
          if (isCollection(value) && value.flow === true) return this.position(startOf(value) ?? keyOffset);
          return this.position(keyOffset);
        }
        fallback = keyOffset;
        node = value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = this.#deref(node.items[segment]);
        if (item === undefined) break;
        const itemOffset = startOf(item) ?? fallback;
        if (last && isScalar(item)) return this.position(this.#scalarOffset(item, options.charIndex));
        fallback = itemOffset;
        node = item;
      } else {
        break;
      }
    }
    return this.position(fallback);
  }

  #deref(node: unknown): Node | undefined {
    const resolved = isAlias(node) ? node.resolve(this.#doc) : node;
    return isNode(resolved) ? resolved : undefined;
  }

  #scalarOffset(scalar: Node, charIndex: number | undefined): number {
    const start = startOf(scalar) ?? 0;
    if (charIndex === undefined || !isScalar(scalar) || typeof scalar.value !== 'string') return start;
    const end = scalar.range?.[1] ?? start;
    const source = this.#text.slice(start, end);
    // Only point inside the value when the source spells it verbatim (no escapes or folding to account for).
    if (scalar.type === 'PLAIN' && source.startsWith(scalar.value)) return start + charIndex;
    if (
      (scalar.type === 'QUOTE_DOUBLE' || scalar.type === 'QUOTE_SINGLE') &&
      source.startsWith(scalar.value, 1)
    ) {
      return start + 1 + charIndex;
    }
    return start;
  }
}

function startOf(node: unknown): number | undefined {
  return isNode(node) ? (node.range?.[0] ?? undefined) : undefined;
}
