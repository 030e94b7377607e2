'use strict';
// Comparing two answers of /api/v1/query_range. An answer is normalised first (see
// classifyAnswer): a Prometheus error envelope is an *error* (what should_fail cases need), a
// success envelope is a *result*, and anything else (no JSON, an HTTP error without the envelope,
// a connection failure) is *broken*: never a pass, also not for should_fail cases, so a server
// without the query API fails every case.

const DEFAULT_TOLERANCE = 1e-6;

// {kind: 'result', resultType, result} | {kind: 'error', errorType, error, status} |
// {kind: 'broken', reason}. `status`: HTTP status; `text`: the body (or null with `fetchError`).
function classifyAnswer({ status, text, fetchError }) {
  if (fetchError) return { kind: 'broken', reason: `request failed: ${fetchError}` };
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    return { kind: 'broken', reason: `HTTP ${status}, not JSON: ${String(text).slice(0, 200).replace(/\s+/g, ' ')}` };
  }
  if (body && body.status === 'success' && body.data && typeof body.data.resultType === 'string') {
    if (status !== 200) return { kind: 'broken', reason: `HTTP ${status} with a success envelope` };
    return { kind: 'result', resultType: body.data.resultType, result: body.data.result };
  }
  if (body && body.status === 'error' && typeof body.errorType === 'string') {
    return { kind: 'error', status, errorType: body.errorType, error: String(body.error || '') };
  }
  return { kind: 'broken', reason: `HTTP ${status}, not a query API answer: ${String(text).slice(0, 200)}` };
}

// A sample value string of the JSON API as a number ("NaN", "+Inf", "-Inf" included).
function parseValue(s) {
  if (s === 'NaN') return NaN;
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  const v = Number(s);
  if (typeof s !== 'string' || s.trim() === '' || Number.isNaN(v)) throw new Error(`not a sample value: ${JSON.stringify(s)}`);
  return v;
}

// Equal within relative tolerance: NaN equals NaN, infinities only themselves, otherwise
// |a − b| ≤ tolerance × max(|a|, |b|) (so 0 equals only 0).
function valuesEqual(a, b, tolerance = DEFAULT_TOLERANCE) {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= tolerance * Math.max(Math.abs(a), Math.abs(b));
}

// A label set as text, names sorted: {a="1", b="2"}.
function formatLabels(metric) {
  const names = Object.keys(metric || {}).sort();
  return `{${names.map((n) => `${n}=${JSON.stringify(metric[n])}`).join(', ')}}`;
}

const timeText = (t) => String(t);

// Series of a matrix (or the one point of a scalar/vector) as Map(labelsText → [[t, "v"], ...]);
// native histograms (`histograms`) are kept as JSON text per point and compared exactly.
function seriesMap(resultType, result) {
  const map = new Map();
  const add = (metric, points) => {
    const key = formatLabels(metric);
    if (map.has(key)) throw new Error(`the answer holds ${key} twice`);
    map.set(key, points);
  };
  if (resultType === 'matrix') {
    for (const s of result) {
      const points = [
        ...(s.values || []).map(([t, v]) => ({ t, v })),
        ...(s.histograms || []).map(([t, h]) => ({ t, h: JSON.stringify(h) })),
      ].sort((x, y) => x.t - y.t);
      add(s.metric, points);
    }
  } else if (resultType === 'vector') {
    for (const s of result) add(s.metric, s.histogram ? [{ t: s.histogram[0], h: JSON.stringify(s.histogram[1]) }] : [{ t: s.value[0], v: s.value[1] }]);
  } else if (resultType === 'scalar' || resultType === 'string') {
    add({}, [{ t: result[0], v: result[1] }]);
  } else {
    throw new Error(`unknown resultType ${resultType}`);
  }
  return map;
}

// Compares the reference's answer with the target's for one case. Returns {pass, diff} where
// diff (on failure) names the first difference in one line.
function compareAnswers(ref, target, { shouldFail = false, tolerance = DEFAULT_TOLERANCE } = {}) {
  if (ref.kind === 'broken') return { pass: false, diff: `reference answer broken: ${ref.reason}` };
  if (target.kind === 'broken') return { pass: false, diff: `target answer broken: ${target.reason}` };
  if (shouldFail) {
    if (ref.kind !== 'error') return { pass: false, diff: 'should_fail, but the reference answered a result' };
    if (target.kind !== 'error') return { pass: false, diff: 'should_fail: the reference errors, the target answered a result' };
    return { pass: true };
  }
  if (ref.kind === 'error') {
    if (target.kind === 'error') return { pass: false, diff: `both error (not a should_fail case): reference ${ref.errorType}: ${ref.error}` };
    return { pass: false, diff: `reference error ${ref.errorType}: ${ref.error}; the target answered a result` };
  }
  if (target.kind === 'error') return { pass: false, diff: `target error ${target.errorType}: ${target.error}` };
  if (ref.resultType !== target.resultType) {
    return { pass: false, diff: `resultType: reference ${ref.resultType}, target ${target.resultType}` };
  }
  let refMap;
  let targetMap;
  try {
    refMap = seriesMap(ref.resultType, ref.result);
  } catch (err) {
    return { pass: false, diff: `reference answer unusable: ${err.message}` };
  }
  try {
    targetMap = seriesMap(target.resultType, target.result);
  } catch (err) {
    return { pass: false, diff: `target answer unusable: ${err.message}` };
  }
  for (const key of [...refMap.keys()].sort()) {
    if (!targetMap.has(key)) return { pass: false, diff: `series ${key} missing in the target (${refMap.size} vs ${targetMap.size} series)` };
  }
  for (const key of [...targetMap.keys()].sort()) {
    if (!refMap.has(key)) return { pass: false, diff: `series ${key} only in the target (${refMap.size} vs ${targetMap.size} series)` };
  }
  for (const key of [...refMap.keys()].sort()) {
    const a = refMap.get(key);
    const b = targetMap.get(key);
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (a[i].t !== b[i].t) {
        return { pass: false, diff: `${key}: point ${i}: timestamp reference ${timeText(a[i].t)}, target ${timeText(b[i].t)}` };
      }
      if ((a[i].h === undefined) !== (b[i].h === undefined)) {
        return { pass: false, diff: `${key} @ ${timeText(a[i].t)}: reference ${a[i].h ? 'histogram' : 'float'}, target ${b[i].h ? 'histogram' : 'float'}` };
      }
      if (a[i].h !== undefined) {
        if (a[i].h !== b[i].h) return { pass: false, diff: `${key} @ ${timeText(a[i].t)}: histogram reference ${a[i].h}, target ${b[i].h}` };
        continue;
      }
      let va;
      let vb;
      try {
        va = parseValue(a[i].v);
        vb = parseValue(b[i].v);
      } catch (err) {
        return { pass: false, diff: `${key} @ ${timeText(a[i].t)}: ${err.message}` };
      }
      if (!valuesEqual(va, vb, tolerance)) {
        return { pass: false, diff: `${key} @ ${timeText(a[i].t)}: reference ${a[i].v}, target ${b[i].v}` };
      }
    }
    if (a.length !== b.length) {
      const extra = a.length > b.length ? `reference has ${a[n].t}` : `target has ${b[n].t}`;
      return { pass: false, diff: `${key}: ${a.length} points in the reference, ${b.length} in the target (first extra: ${extra})` };
    }
  }
  return { pass: true };
}

module.exports = { DEFAULT_TOLERANCE, classifyAnswer, compareAnswers, formatLabels, parseValue, seriesMap, valuesEqual };
