'use strict';
// The test cases: every template of promql-test-queries.yml expanded into one case per
// combination of its `variant_args` values (the placeholder values are the ones the compliance
// tester documents; see README.md). A template without variant_args is one case as written.

const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');

// The query list is not copied into this repository: it is read where the project's shared
// conformance data lives (../shared/conformance beside the checkout), or from
// CONFORMANCE_QUERIES. Tests that need it are skipped, with this path named, when it is absent.
const QUERY_FILE = process.env.CONFORMANCE_QUERIES ||
  path.join(__dirname, '..', '..', '..', '..', 'shared', 'conformance', 'promql-test-queries.yml');

// A reason to skip (a string) when the query list is missing; false when it is there.
function missingQueryFile(file = QUERY_FILE) {
  return fs.existsSync(file) ? false : `query list not found: ${file} (set CONFORMANCE_QUERIES)`;
}

const ARITH_BIN_OPS = ['+', '-', '*', '/', '%', '^'];
const COMP_BIN_OPS = ['==', '!=', '<', '>', '<=', '>='];

// Placeholder name → its values, in the order the cases are numbered.
const VARIANT_VALUES = {
  range: ['1s', '15s', '1m', '5m', '15m', '1h'],
  offset: ['1m', '5m', '10m'],
  simpleAggrOp: ['sum', 'avg', 'max', 'min', 'count', 'stddev', 'stdvar'],
  simpleTimeAggrOp: ['sum', 'avg', 'max', 'min', 'count', 'stddev', 'stdvar', 'absent', 'last'],
  topBottomOp: ['topk', 'bottomk'],
  quantile: ['-0.5', '0.1', '0.5', '0.75', '0.95', '0.90', '0.99', '1', '1.5'],
  arithBinOp: ARITH_BIN_OPS,
  compBinOp: COMP_BIN_OPS,
  binOp: [...ARITH_BIN_OPS, ...COMP_BIN_OPS],
  simpleMathFunc: ['abs', 'ceil', 'floor', 'exp', 'sqrt', 'ln', 'log2', 'log10', 'round'],
  extrapolatedRateFunc: ['delta', 'rate', 'increase'],
  instantRateFunc: ['idelta', 'irate'],
  clampFunc: ['clamp_min', 'clamp_max'],
  dateFunc: ['day_of_month', 'day_of_week', 'days_in_month', 'hour', 'minute', 'month', 'year'],
};

// Every combination of the named placeholders' values, the first name varying slowest.
function combinations(names) {
  let out = [{}];
  for (const name of names) {
    const values = VARIANT_VALUES[name];
    if (!values) throw new Error(`unknown variant arg ${JSON.stringify(name)}`);
    out = out.flatMap((combo) => values.map((v) => ({ ...combo, [name]: v })));
  }
  return out;
}

// Replaces {{.name}} (spaces inside the braces allowed) with args[name]; an unknown placeholder
// is an error, never left in a query.
function fillTemplate(template, args) {
  return template.replace(/\{\{\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (whole, name) => {
    if (!(name in args)) throw new Error(`template ${JSON.stringify(template)}: no value for ${whole}`);
    return args[name];
  });
}

// Cases from the parsed YAML document ({test_cases: [{query, variant_args?, should_fail?}]}):
// [{id, template, templateIndex, args, query, shouldFail}]; ids count from 1 in file order.
function expandCases(doc) {
  if (!doc || !Array.isArray(doc.test_cases)) throw new Error('query file: no test_cases list');
  const cases = [];
  doc.test_cases.forEach((tc, templateIndex) => {
    if (typeof tc.query !== 'string') throw new Error(`test case ${templateIndex}: query is not a string`);
    const names = tc.variant_args || [];
    for (const args of combinations(names)) {
      cases.push({
        id: cases.length + 1,
        template: tc.query,
        templateIndex,
        args,
        query: fillTemplate(tc.query, args),
        shouldFail: tc.should_fail === true,
      });
    }
  });
  return cases;
}

function loadCases(file = QUERY_FILE) {
  return expandCases(YAML.parse(fs.readFileSync(file, 'utf8')));
}

// The reduced set `make test` runs: the first expansion of every template (so every template
// and every function is exercised once), plus every should_fail case.
function reducedCases(cases) {
  const seen = new Set();
  return cases.filter((c) => {
    if (seen.has(c.templateIndex) && !c.shouldFail) return false;
    seen.add(c.templateIndex);
    return true;
  });
}

module.exports = { QUERY_FILE, missingQueryFile, VARIANT_VALUES, combinations, expandCases, fillTemplate, loadCases, reducedCases };
