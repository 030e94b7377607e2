'use strict';
// Unit tests of the comparison (lib/compare.js): answers are built by hand as the query API
// sends them.
const assert = require('node:assert/strict');
const { describe, it } = require('node:test');

const { classifyAnswer, compareAnswers, parseValue, valuesEqual } = require('./lib/compare');

const ok = (result, resultType = 'matrix') => ({ status: 200, text: JSON.stringify({ status: 'success', data: { resultType, result } }) });
const err = (errorType, error, status = 400) => ({ status, text: JSON.stringify({ status: 'error', errorType, error }) });
const series = (metric, values) => ({ metric, values });
const cmp = (a, b, opts) => compareAnswers(classifyAnswer(a), classifyAnswer(b), opts);
const M = { __name__: 'x', job: 'demo' };

describe('value comparison', () => {
  it('NaN equals NaN and nothing else; infinities only themselves', () => {
    assert.ok(valuesEqual(NaN, NaN));
    assert.ok(!valuesEqual(NaN, 0));
    assert.ok(!valuesEqual(1, NaN));
    assert.ok(valuesEqual(Infinity, Infinity));
    assert.ok(!valuesEqual(Infinity, -Infinity));
    assert.ok(!valuesEqual(Infinity, 1e308));
  });

  it('relative tolerance 1e-6', () => {
    assert.ok(valuesEqual(1e9, 1e9 + 999));
    assert.ok(!valuesEqual(1e9, 1e9 + 1001));
    assert.ok(valuesEqual(-2.5, -2.5 * (1 + 9e-7)));
    assert.ok(!valuesEqual(-2.5, -2.5 * (1 + 2e-6)));
    assert.ok(valuesEqual(0, 0));
    assert.ok(!valuesEqual(0, 1e-300), 'relative: 0 equals only 0');
    assert.ok(valuesEqual(1, 1.001, 1e-2), 'tolerance is a parameter');
  });

  it('parses the API\'s value strings', () => {
    assert.ok(Number.isNaN(parseValue('NaN')));
    assert.equal(parseValue('+Inf'), Infinity);
    assert.equal(parseValue('-Inf'), -Infinity);
    assert.equal(parseValue('1e-3'), 0.001);
    assert.throws(() => parseValue(''), /not a sample value/);
    assert.throws(() => parseValue('abc'), /not a sample value/);
  });
});

describe('answer classification', () => {
  it('a success envelope is a result, an error envelope an error, anything else broken', () => {
    assert.equal(classifyAnswer(ok([])).kind, 'result');
    const e = classifyAnswer(err('bad_data', '1:1: parse error'));
    assert.deepEqual([e.kind, e.errorType, e.error, e.status], ['error', 'bad_data', '1:1: parse error', 400]);
    assert.equal(classifyAnswer({ status: 404, text: '404 page not found' }).kind, 'broken');
    assert.equal(classifyAnswer({ status: 400, text: '{"status":"error"}' }).kind, 'broken');
    assert.equal(classifyAnswer({ fetchError: 'ECONNREFUSED' }).kind, 'broken');
    assert.equal(classifyAnswer({ status: 500, text: JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [] } }) }).kind, 'broken');
  });
});

describe('answer comparison', () => {
  const a = ok([series(M, [[10, '1'], [16, 'NaN'], [22, '+Inf']]), series({ ...M, i: '2' }, [[10, '5']])]);

  it('equal answers pass, whatever the series order; NaN = NaN', () => {
    const b = ok([series({ ...M, i: '2' }, [[10, '5']]), series({ job: 'demo', __name__: 'x' }, [[10, '1.0000001'], [16, 'NaN'], [22, '+Inf']])]);
    assert.deepEqual(cmp(a, b), { pass: true });
  });

  it('a missing or extra series fails and names it', () => {
    const fewer = ok([series(M, [[10, '1'], [16, 'NaN'], [22, '+Inf']])]);
    assert.match(cmp(a, fewer).diff, /series \{__name__="x", i="2", job="demo"\} missing in the target \(2 vs 1 series\)/);
    assert.match(cmp(fewer, a).diff, /series \{__name__="x", i="2", job="demo"\} only in the target/);
  });

  it('a label value differing is a different series', () => {
    const b = ok([series(M, [[10, '1'], [16, 'NaN'], [22, '+Inf']]), series({ ...M, i: '3' }, [[10, '5']])]);
    assert.equal(cmp(a, b).pass, false);
  });

  it('timestamps must be equal', () => {
    const b = ok([series(M, [[10, '1'], [17, 'NaN'], [22, '+Inf']]), series({ ...M, i: '2' }, [[10, '5']])]);
    assert.match(cmp(a, b).diff, /point 1: timestamp reference 16, target 17/);
    const shorter = ok([series(M, [[10, '1'], [16, 'NaN']]), series({ ...M, i: '2' }, [[10, '5']])]);
    assert.match(cmp(a, shorter).diff, /3 points in the reference, 2 in the target \(first extra: reference has 22\)/);
  });

  it('values beyond the tolerance fail with both values; NaN against a number fails', () => {
    const b = ok([series(M, [[10, '1.00001'], [16, 'NaN'], [22, '+Inf']]), series({ ...M, i: '2' }, [[10, '5']])]);
    assert.match(cmp(a, b).diff, /\{__name__="x", job="demo"\} @ 10: reference 1, target 1.00001/);
    const c = ok([series(M, [[10, '1'], [16, '0'], [22, '+Inf']]), series({ ...M, i: '2' }, [[10, '5']])]);
    assert.match(cmp(a, c).diff, /@ 16: reference NaN, target 0/);
  });

  it('resultType must match; scalars compare by value', () => {
    assert.match(cmp(ok([10, '1'], 'scalar'), ok([])).diff, /resultType: reference scalar, target matrix/);
    assert.equal(cmp(ok([10, '1'], 'scalar'), ok([10, '1'], 'scalar')).pass, true);
  });

  it('should_fail: both must answer an error envelope', () => {
    const e1 = err('bad_data', 'parse error');
    const e2 = err('execution', 'something else', 422);
    assert.deepEqual(cmp(e1, e2, { shouldFail: true }), { pass: true });
    assert.match(cmp(e1, ok([]), { shouldFail: true }).diff, /the target answered a result/);
    assert.match(cmp(ok([]), e1, { shouldFail: true }).diff, /the reference answered a result/);
    // A server without the query API does not pass should_fail cases.
    assert.match(cmp(e1, { status: 404, text: 'not found' }, { shouldFail: true }).diff, /target answer broken: HTTP 404/);
  });

  it('errors where a result is expected fail, also when both error', () => {
    assert.match(cmp(a, err('execution', 'boom', 422)).diff, /target error execution: boom/);
    assert.match(cmp(err('execution', 'x', 422), err('execution', 'x', 422)).diff, /both error/);
    assert.match(cmp(a, { fetchError: 'connect ECONNREFUSED' }).diff, /target answer broken: request failed: connect ECONNREFUSED/);
  });

  it('duplicate series in an answer are reported, not merged', () => {
    const dup = ok([series(M, [[10, '1']]), series(M, [[16, '1']])]);
    assert.match(cmp(a, dup).diff, /target answer unusable: the answer holds .* twice/);
  });
});

describe('the Markdown report', () => {
  const { reportMarkdown } = require('./lib/harness');
  it('states the pass rate and one line per failure with the query and its first difference', () => {
    const md = reportMarkdown({
      target: 'sprout',
      reference: 'prometheus (Debian 2.42)',
      generatedAt: '2026-12-06T00:00:00.000Z',
      seconds: 1,
      window: { start: 'a', end: 'b', stepSeconds: 6 },
      tolerance: 1e-6,
      data: { series: 1, floatSamples: 2, staleMarkers: 3, from: 'x', to: 'y' },
      notes: ['reference: 1 series'],
      total: 3,
      passed: 1,
      failed: 2,
      passRate: 1 / 3,
      cases: [
        { id: 1, query: '42', pass: true },
        { id: 2, query: 'rate(x[5m])', pass: false, diff: 'target answer broken: HTTP 404, not JSON: 404 page not found' },
        { id: 3, query: '{__name__=~".*"}', shouldFail: true, pass: false, diff: 'should_fail: the reference errors, the target answered a result' },
      ],
    });
    assert.match(md, /\*\*1 \/ 3 cases pass \(33\.3 %\)\*\*, 2 fail\./);
    const lines = md.split('\n').filter((l) => l.startsWith('- #'));
    assert.deepEqual(lines, [
      '- #2 `rate(x[5m])`: target answer broken: HTTP 404, not JSON: 404 page not found',
      '- #3 `{__name__=~".*"}` (should_fail): should_fail: the reference errors, the target answered a result',
    ]);
  });
});
