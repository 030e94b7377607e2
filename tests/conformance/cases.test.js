'use strict';
// Unit tests of the template expansion (lib/cases.js).
const assert = require('node:assert/strict');
const { describe, it } = require('node:test');

const { missingQueryFile, VARIANT_VALUES, combinations, expandCases, fillTemplate, loadCases, reducedCases } = require('./lib/cases');

describe('template expansion', () => {
  it('the query file expands to 539 cases, 5 of them should_fail', { skip: missingQueryFile() }, () => {
    const cases = loadCases();
    assert.equal(cases.length, 539);
    assert.equal(cases.filter((c) => c.shouldFail).length, 5);
    assert.deepEqual(cases.map((c) => c.id), cases.map((_, i) => i + 1));
    for (const c of cases) assert.doesNotMatch(c.query, /\{\{|\}\}/, `placeholder left in #${c.id}`);
  });

  it('each template gives the product of its placeholders\' value counts, in order', { skip: missingQueryFile() }, () => {
    const cases = loadCases();
    const rangeAggr = cases.filter((c) => c.template === '{{.simpleTimeAggrOp}}_over_time(demo_memory_usage_bytes[{{.range}}])');
    assert.equal(rangeAggr.length, 9 * 6);
    assert.equal(rangeAggr[0].query, 'sum_over_time(demo_memory_usage_bytes[1s])');
    assert.equal(rangeAggr[1].query, 'sum_over_time(demo_memory_usage_bytes[15s])');
    assert.equal(rangeAggr[53].query, 'last_over_time(demo_memory_usage_bytes[1h])');
    const binOp = cases.filter((c) => c.template === 'demo_memory_usage_bytes {{.binOp}} 1.2345');
    assert.deepEqual(binOp.map((c) => c.args.binOp), ['+', '-', '*', '/', '%', '^', '==', '!=', '<', '>', '<=', '>=']);
    const dates = cases.filter((c) => c.template.startsWith('{{.dateFunc}}(demo_batch'));
    assert.equal(dates.length, 7 * 3);
    assert.equal(dates[4].query, 'day_of_week(demo_batch_last_success_timestamp_seconds offset 5m)');
    const quant = cases.filter((c) => c.template.startsWith('histogram_quantile({{.quantile}}'));
    assert.deepEqual(quant.map((c) => c.args.quantile), VARIANT_VALUES.quantile);
  });

  it('expands a hand-made document; should_fail carries to every expansion', () => {
    const doc = {
      test_cases: [
        { query: 'up' },
        { query: '{{.topBottomOp}}(1, x offset {{ .offset }})', variant_args: ['topBottomOp', 'offset'], should_fail: true },
      ],
    };
    const cases = expandCases(doc);
    assert.equal(cases.length, 1 + 2 * 3);
    assert.deepEqual(cases.slice(1, 4).map((c) => c.query), ['topk(1, x offset 1m)', 'topk(1, x offset 5m)', 'topk(1, x offset 10m)']);
    assert.ok(cases.slice(1).every((c) => c.shouldFail));
    assert.equal(cases[0].shouldFail, false);
  });

  it('refuses unknown variant args and placeholders without a value', () => {
    assert.throws(() => combinations(['nope']), /unknown variant arg "nope"/);
    assert.throws(() => fillTemplate('rate(x[{{.range}}])', {}), /no value for \{\{\.range\}\}/);
    assert.throws(() => expandCases({}), /no test_cases/);
  });

  it('the reduced set: one case per template plus every should_fail case', { skip: missingQueryFile() }, () => {
    const all = loadCases();
    const reduced = reducedCases(all);
    const templates = new Set(all.map((c) => c.templateIndex));
    assert.deepEqual(new Set(reduced.map((c) => c.templateIndex)), templates);
    assert.equal(reduced.length, templates.size);
    assert.equal(reduced.filter((c) => c.shouldFail).length, 5);
  });
});
