/** One pytest case from a JUnit XML report. */
export interface PytestCase {
  /** pytest's node id, e.g. `tests/test_client.py::test_get_balance` or `tests/test_x.py::TestY::test_z[a]`. */
  readonly nodeId: string;
  readonly outcome: 'passed' | 'failed' | 'error' | 'skipped';
  /** The failure, error or skip text pytest wrote (empty when passed). */
  readonly text: string;
}

const ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? whole;
  });
}

function attributes(tag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of tag.matchAll(/([\w:-]+)="([^"]*)"/g)) out.set(m[1] ?? '', unescapeXml(m[2] ?? ''));
  return out;
}

/**
 * The cases of a pytest JUnit XML report written with `-o junit_family=xunit1` (which carries each case's `file`),
 * in report order. Only what pytest writes is read: `<testcase>` elements, each empty or holding one `<failure>`,
 * `<error>` or `<skipped>` (plus captured output, ignored). A case with both a failure and an error (a test that
 * failed, then its teardown errored) reports the failure first.
 */
export function readJunitXml(xml: string): PytestCase[] {
  const cases: PytestCase[] = [];
  const re = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const m of xml.matchAll(re)) {
    const attrs = attributes(m[1] ?? '');
    const file = attrs.get('file') ?? '';
    const name = attrs.get('name') ?? '';
    const classname = attrs.get('classname') ?? '';
    if (file === '' || name === '')
      throw new Error(`a <testcase> without file or name: ${m[0].slice(0, 200)}`);
    // classname is the module path plus any test classes: keep the classes for the node id.
    const module = file.replace(/\.py$/, '').replaceAll('/', '.');
    const classes = classname.startsWith(`${module}.`) ? classname.slice(module.length + 1).split('.') : [];
    const nodeId = [file, ...classes, name].join('::');
    const body = m[3] ?? '';
    const child = /<(failure|error|skipped)\b([^>]*?)(\/>|>([\s\S]*?)<\/\1>)/.exec(body);
    if (child === null) {
      cases.push({ nodeId, outcome: 'passed', text: '' });
      continue;
    }
    const kind = child[1] as 'failure' | 'error' | 'skipped';
    const message = attributes(child[2] ?? '').get('message') ?? '';
    const text = unescapeXml(child[4] ?? '').trim() || message;
    cases.push({ nodeId, outcome: kind === 'failure' ? 'failed' : kind, text });
  }
  return cases;
}
