#!/usr/bin/env python3
"""Records Prometheus 2.42's answers for the kernel tests (kernels_test.cc, Recorded242Test).

Start Debian's Prometheus 2.42 with an empty TSDB and the remote-write receiver, then run this
from the repository root (needs node and tests/e2e/node_modules):

  prometheus --config.file=/dev/null --web.enable-remote-write-receiver \
      --enable-feature=native-histograms --storage.tsdb.path=$(mktemp -d) \
      --web.listen-address=127.0.0.1:19142 &
  python3 src/metrics/promql/testdata/record_kernels.py 19142

It generates random series (fixed seeds), pushes them by remote write (the e2e remote-write
encoder tests/e2e/lib/proto.js), queries every range function at several times and ranges, and
writes testdata/kernels_2.42.txt (float series) and testdata/histograms_2.42.txt (native
histograms), then testdata/instant_2.42.txt (math/date functions, round, sum/avg/stddev/stdvar/
quantile aggregations and histogram_quantile over classic buckets, on literal vectors). In the
first two, a "W range_start range_end eval_time samples…" line gives a window's samples (both
ends inclusive), and the lines after it "function argument answer" give 2.42's answers for that
window, so the test needs no Prometheus.
"""
import json, math, random, subprocess, sys, urllib.parse, urllib.request

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 19142
OUT = "src/metrics/promql/testdata/"

PUSH_JS = r"""
const { encodeWriteRequest } = require('./tests/e2e/lib/proto.js');
const snappy = require('./tests/e2e/node_modules/snappyjs');
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'), (k, v) => v === 'NaN' ? NaN : v);
const ts = input.map((s) => ({
  labels: Object.entries(s.labels).map(([name, value]) => ({ name, value })),
  samples: (s.samples || []).map(([t, v]) => ({ timestamp: t, value: v })),
  histograms: (s.histograms || []).map(([t, h]) => ({ timestamp: t, ...h })),
}));
fetch(`http://127.0.0.1:${process.argv[1]}/api/v1/write`, {
  method: 'POST', body: snappy.compress(encodeWriteRequest({ timeseries: ts })),
  headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf',
             'X-Prometheus-Remote-Write-Version': '0.1.0' },
}).then(async (r) => { if (r.status !== 204) { console.error(r.status, await r.text()); process.exit(1); } });
"""


def push(payload):
    text = json.dumps(payload).replace("Infinity", "1e999")  # JSON.parse turns 1e999 into Infinity
    subprocess.run(["node", "-e", PUSH_JS, str(PORT)], input=text, text=True, check=True)


def query(expr, t):
    url = f"http://127.0.0.1:{PORT}/api/v1/query?" + urllib.parse.urlencode({"query": expr, "time": repr(t)})
    d = json.load(urllib.request.urlopen(url))
    if d["status"] != "success":
        return "error"
    r = d["data"]["result"]
    return "none" if not r else r[0]["value"][1]


def fmt(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)


def floats():
    random.seed(42)
    series = {}

    def counter(n, t):
        v = random.uniform(0, 50)
        pts = []
        for _ in range(n):
            t += random.choice([5, 10, 15, 15, 15, 20, 30]) + random.choice([0, 0, 0, 0.25, 0.5, 0.001])
            v = random.uniform(0, 5) if random.random() < 0.08 else v + random.uniform(0, 10)
            pts.append((round(t, 3), round(v, 4)))
        return pts

    def gauge(n, t, special):
        pts = []
        for _ in range(n):
            t += random.choice([5, 10, 15, 15, 20]) + random.choice([0, 0, 0.5, 0.125])
            r = random.random()
            if special and r < 0.07:
                v = float("nan")
            elif special and r < 0.12:
                v = float("inf")
            elif special and r < 0.16:
                v = float("-inf")
            elif r < 0.3:
                v = pts[-1][1] if pts else 1.0
            else:
                v = round(random.uniform(-100, 100), 3)
            pts.append((round(t, 3), v))
        return pts

    for i in range(10):
        series[f"fc{i}"] = counter(40, 1980)
    for i in range(8):
        series[f"fg{i}"] = gauge(40, 1980, False)
    for i in range(6):
        series[f"fs{i}"] = gauge(40, 1980, True)
    enc = lambda v: "NaN" if math.isnan(v) else v
    push([{"labels": {"__name__": k}, "samples": [[int(round(t * 1000)), enc(v)] for t, v in pts]}
          for k, pts in series.items()])
    funcs = [("rate", ""), ("increase", ""), ("delta", ""), ("irate", ""), ("idelta", ""), ("changes", ""),
             ("resets", ""), ("deriv", ""), ("predict_linear", "30"), ("holt_winters", "0.3,0.6"),
             ("avg_over_time", ""), ("min_over_time", ""), ("max_over_time", ""), ("sum_over_time", ""),
             ("count_over_time", ""), ("stddev_over_time", ""), ("stdvar_over_time", ""),
             ("last_over_time", ""), ("present_over_time", ""), ("quantile_over_time", "0.3"),
             ("quantile_over_time", "0.95")]
    out = []
    for name, pts in series.items():
        for T in [2100, 2131.5, 2200.001, 2250, 2310.25]:
            for R in [60, 45.5, 120]:
                tm, rm = int(round(T * 1000)), int(round(R * 1000))
                win = [(t, v) for t, v in pts if tm - rm <= int(round(t * 1000)) <= tm]
                out.append(f"W {tm - rm} {tm} {tm} " +
                           " ".join(f"{int(round(t * 1000))}:{fmt(v)}" for t, v in win))
                for fn, arg in funcs:
                    if fn in ("rate", "increase", "irate", "resets") and not name.startswith("fc"):
                        continue
                    pre = arg + ", " if fn == "quantile_over_time" else ""
                    post = ", " + arg if fn in ("predict_linear", "holt_winters") else ""
                    res = query(f"{fn}({pre}{name}[{rm}ms]{post})", T)
                    out.append(f"{fn} {arg or '-'} {res}")
    open(OUT + "kernels_2.42.txt", "w").write("\n".join(out) + "\n")


def histograms():
    random.seed(7)

    def side(d):
        spans, deltas, prev, prevc = [], [], None, 0
        for i in sorted(d):
            if prev is not None and i == prev + 1:
                spans[-1]["length"] += 1
            else:
                spans.append({"offset": i - (prev + 1) if prev is not None else i, "length": 1})
            deltas.append(d[i] - prevc)
            prevc, prev = d[i], i
        return spans, deltas

    series = {}
    for k in range(8):
        t, obs, pts = 1980.0, [], []
        schema, zt = random.choice([0, 1, 2, 3]), random.choice([0.001, 0.5, 1e-128])
        for _ in range(30):
            t += random.choice([10, 15, 15, 15, 20]) + random.choice([0, 0, 0.5])
            if random.random() < 0.08:
                obs = []  # a counter reset
            if random.random() < 0.1:
                schema = max(-1, schema - 1)  # the resolution drops
            for _ in range(random.randint(0, 6)):
                r = random.random()
                obs.append(0.0 if r < 0.1 else -math.exp(random.gauss(0, 2)) if r < 0.25
                           else math.exp(random.gauss(0.5, 1.5)))
            pos, neg, zc = {}, {}, 0
            for v in obs:
                if abs(v) <= zt:
                    zc += 1
                    continue
                d = pos if v > 0 else neg
                i = math.ceil(math.log2(abs(v)) * 2 ** schema)
                d[i] = d.get(i, 0) + 1
            pts.append((round(t, 3), schema, zt, zc, len(obs), round(sum(obs), 6), pos, neg))
        series[f"hh{k}"] = pts
    payload = []
    for name, pts in series.items():
        hs = []
        for (t, schema, zt, zc, cnt, sm, pos, neg) in pts:
            ps, pd = side(pos)
            ns, nd = side(neg)
            hs.append([int(round(t * 1000)), {"schema": schema, "zeroThreshold": zt, "zeroCountInt": zc,
                                              "countInt": cnt, "sum": sm, "positiveSpans": ps,
                                              "positiveDeltas": pd, "negativeSpans": ns, "negativeDeltas": nd}])
        payload.append({"labels": {"__name__": name}, "histograms": hs})
    push(payload)
    posts = [("count", "histogram_count(%s)"), ("sum", "histogram_sum(%s)"),
             ("q0.5", "histogram_quantile(0.5, %s)"), ("q0.9", "histogram_quantile(0.9, %s)"),
             ("q0.05", "histogram_quantile(0.05, %s)"), ("f0:2", "histogram_fraction(0, 2, %s)"),
             ("f-1:0.7", "histogram_fraction(-1, 0.7, %s)")]
    enc = lambda d: ";".join(f"{i}={c}" for i, c in sorted(d.items())) or "."
    out = []
    for name, pts in series.items():
        for T in [2100, 2150.5, 2230, 2300.25, 2380]:
            for R in [60, 90.5]:
                tm, rm = int(round(T * 1000)), int(round(R * 1000))
                win = [p for p in pts if tm - rm <= int(round(p[0] * 1000)) <= tm]
                out.append(f"W {tm - rm} {tm} {tm} " + " ".join(
                    f"{int(round(t * 1000))}:{s}:{zt!r}:{zc}:{cnt}:{sm!r}:{enc(pos)}:{enc(neg)}"
                    for (t, s, zt, zc, cnt, sm, pos, neg) in win))
                for fn in ["rate", "increase", "delta"]:
                    for pn, pf in posts:
                        res = query(pf % f"{fn}({name}[{rm}ms])", T)
                        out.append(f"{fn} {pn} {res}")
    open(OUT + "histograms_2.42.txt", "w").write("\n".join(out) + "\n")


def instant():
    """Math and date functions, round, and the aggregations over literal vectors."""
    random.seed(11)
    out = []
    special = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.5, -2.5, 3.14159, 1e-300, 1e300, -1e300,
               float("inf"), float("-inf"), float("nan"), 1709214330.0, -86401.0, 951782399.5,
               4102444800.0, -62135596800.0, 1e12, 0.999999]
    values = special + [round(random.uniform(-1000, 1000), random.choice([0, 2, 6])) for _ in range(20)]

    def lit(v):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Inf" if v > 0 else "-Inf"
        return repr(v)

    fns = ["abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "sgn", "acos", "acosh",
           "asin", "asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh", "tan", "tanh", "deg",
           "rad", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute",
           "month", "year"]
    for fn in fns:
        for v in values:
            out.append(f"F {fn} {fmt(v)} {query(f'{fn}(vector({lit(v)}))', 1000)}")
    for v in values:
        for to in [1, 0.1, 0.25, 5, 3, -2, 0]:
            out.append(f"R {fmt(v)} {fmt(to)} {query(f'round(vector({lit(v)}), {lit(to)})', 1000)}")

    def vec(vals):
        return " or ".join(f'label_replace(vector({lit(v)}), "i", "{i}", "", "")' for i, v in enumerate(vals))

    pool = [1.0, 2.0, -3.5, 10.0, 1e10, -1e10, 0.1, float("inf"), float("-inf"), float("nan"), 7.25, 0.0]
    sets = [[1e16, 1.0, 1.0, -1e16], [1.0, 1e100, 1.0, -1e100]]
    for _ in range(60):
        n = random.randint(1, 7)
        sets.append([random.choice(pool) if random.random() < 0.3 else round(random.uniform(-50, 50), 3)
                     for _ in range(n)])
    for vals in sets:
        vs = " ".join(fmt(v) for v in vals)
        for agg in ["sum", "avg", "stddev", "stdvar"]:
            out.append(f"A {agg} - {query(f'{agg}({vec(vals)})', 1000)} {vs}")
        for q in [0, 0.25, 0.5, 0.9, 1]:
            out.append(f"A quantile {q} {query(f'quantile({q}, {vec(vals)})', 1000)} {vs}")
    # Classic histogram buckets: cumulative counts with random bounds, sometimes non-monotonic,
    # NaN, without +Inf, or with duplicate bounds.
    for _ in range(60):
        bounds = sorted(random.sample([-5, -1, 0, 0.5, 1, 2.5, 5, 10, 100], random.randint(1, 5)))
        counts, c = [], 0.0
        for _ in bounds:
            c += random.choice([0, 1, 2, 5, 10])
            counts.append(c)
        buckets = list(zip(bounds, counts))
        if random.random() < 0.85:
            buckets.append((float("inf"), c + random.choice([0, 0, 1, 3])))
        if random.random() < 0.2:
            i = random.randrange(len(buckets))
            buckets[i] = (buckets[i][0], max(0.0, buckets[i][1] - 3))
        if random.random() < 0.1:
            i = random.randrange(len(buckets))
            buckets[i] = (buckets[i][0], float("nan"))
        random.shuffle(buckets)
        sel = " or ".join(f'label_replace(vector({lit(n)}), "le", "{fmt(b)}", "", "")' for b, n in buckets)
        bs = " ".join(f"{fmt(b)}={fmt(n)}" for b, n in buckets)
        for q in [0, 0.1, 0.5, 0.75, 0.99, 1]:
            out.append(f"B {q} {query(f'histogram_quantile({q}, {sel})', 1000)} {bs}")
    open(OUT + "instant_2.42.txt", "w").write("\n".join(out) + "\n")


floats()
histograms()
instant()
