import { describe, expect, it } from 'vitest';

import { readJunitXml } from './junit-xml.js';

// Shaped like pytest 9's `--junitxml` output with `-o junit_family=xunit1`.
const REPORT = `<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="5">
<testcase classname="tests.test_client" name="test_ok" file="tests/test_client.py" line="3" time="0.1" />
<testcase classname="tests.test_client" name="test_bad[a&amp;b]" file="tests/test_client.py" line="9" time="0.1"><failure message="AssertionError: 1 &lt; 2">def test_bad():
&gt;       assert 2 &lt; 1
E       AssertionError</failure><system-out>noise</system-out></testcase>
<testcase classname="tests.sub.test_adapters.TestTools" name="test_tool" file="tests/sub/test_adapters.py" line="1" time="0"><error message="failed on setup with &quot;RuntimeError: boom&quot;">RuntimeError: boom</error></testcase>
<testcase classname="tests.test_client" name="test_skip" file="tests/test_client.py" line="20" time="0"><skipped type="pytest.skip" message="no venue">tests/test_client.py:20: no venue</skipped></testcase>
<testcase classname="tests.test_client" name="test_skip_bare" file="tests/test_client.py" line="21" time="0"><skipped message="why" /></testcase>
</testsuite></testsuites>`;

describe('readJunitXml', () => {
  it('reads each case with its pytest node id, outcome and text', () => {
    expect(readJunitXml(REPORT)).toEqual([
      { nodeId: 'tests/test_client.py::test_ok', outcome: 'passed', text: '' },
      {
        nodeId: 'tests/test_client.py::test_bad[a&b]',
        outcome: 'failed',
        text: 'def test_bad():\n>       assert 2 < 1\nE       AssertionError',
      },
      {
        nodeId: 'tests/sub/test_adapters.py::TestTools::test_tool',
        outcome: 'error',
        text: 'RuntimeError: boom',
      },
      {
        nodeId: 'tests/test_client.py::test_skip',
        outcome: 'skipped',
        text: 'tests/test_client.py:20: no venue',
      },
      { nodeId: 'tests/test_client.py::test_skip_bare', outcome: 'skipped', text: 'why' },
    ]);
  });

  it('refuses a case without a file (a report written without junit_family=xunit1)', () => {
    expect(() => readJunitXml('<testcase classname="tests.test_x" name="test_y" time="0" />')).toThrow(
      /file/,
    );
  });

  it('reads an empty report as no cases', () => {
    expect(readJunitXml('<testsuites><testsuite tests="0"></testsuite></testsuites>')).toEqual([]);
  });
});
