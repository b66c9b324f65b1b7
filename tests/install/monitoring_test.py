#!/usr/bin/env python3
"""The monitoring files in packaging/ against a real server.

packaging/grafana/parley-dashboard.json and packaging/prometheus/parley-alerts.yml
must parse, have the shape Grafana and Prometheus expect, and name only
metrics that Parley exposes: a renamed metric would otherwise leave a blank
panel or an alert that can never fire, and nobody would notice. This test
collects every metric name from every PromQL expression in both files,
starts a parley on a free loopback port, scrapes its /metrics and fails
naming each metric that is not there.

    usage: monitoring_test.py PARLEY_BINARY SOURCE_DIR
"""
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

try:
    import yaml
except ImportError:
    sys.exit("monitoring_test: needs PyYAML for this python3 (Debian: python3-yaml, in scripts/install-deps.sh)")

# PromQL functions and aggregation operators: names followed by "(".
FUNCTIONS = {
    "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg",
    "avg_over_time", "bottomk", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh",
    "count", "count_over_time", "count_values", "day_of_month", "day_of_week", "day_of_year",
    "days_in_month", "deg", "delta", "deriv", "exp", "floor", "group", "histogram_count",
    "histogram_fraction", "histogram_quantile", "histogram_sum", "holt_winters", "hour", "idelta",
    "increase", "irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2",
    "max", "max_over_time", "min", "min_over_time", "minute", "month", "pi", "predict_linear",
    "present_over_time", "quantile", "quantile_over_time", "rad", "rate", "resets", "round", "scalar",
    "sgn", "sin", "sinh", "sort", "sort_desc", "sqrt", "stddev", "stddev_over_time", "stdvar",
    "stdvar_over_time", "sum", "sum_over_time", "tan", "tanh", "time", "timestamp", "topk", "vector",
    "year",
}
# Keywords that are neither metrics nor functions.
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan", "atan2"}
# Label lists: by (...), without (...), on (...), ignoring (...), group_left (...), group_right (...).
LABEL_LIST = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
NUMBER = re.compile(r"(?<![A-Za-z0-9_:.])(0x[0-9a-fA-F]+|\d+(\.\d*)?([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)")
# Metrics that Prometheus itself makes for every target.
SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added",
             "scrape_samples_post_metric_relabeling"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

failures = []


def fail(message):
    failures.append(message)


def metric_names(expr):
    """Every metric name that a PromQL expression selects."""
    text = re.sub(r'"(\\.|[^"\\])*"|\'(\\.|[^\'\\])*\'|`[^`]*`', '""', expr)  # strings
    text = re.sub(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*", "1", text)  # Grafana variables
    text = re.sub(r"\{[^{}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\[\]]*\]", " ", text)  # range and subquery durations
    text = re.sub(r"\boffset\s+-?\d+[a-z0-9]*", " ", text)
    text = re.sub(r"@\s*(start\(\)|end\(\)|[\d.]+)", " ", text)
    while LABEL_LIST.search(text):
        text = LABEL_LIST.sub(" ", text)
    text = NUMBER.sub(" ", text)
    names = set()
    for m in IDENT.finditer(text):
        word = m.group(0)
        rest = text[m.end():].lstrip()
        if rest.startswith("("):
            if word not in FUNCTIONS:
                raise ValueError(f"unknown function {word}() in {expr!r}")
            continue
        if word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names


def check_metric_names_parser():
    """The extractor itself, on the constructs the files use."""
    cases = {
        'sum by (instance, le) (rate(a_bucket{job="x",le=~"0.5|1"}[5m]))': {"a_bucket"},
        'b / ignoring(code) group_left(name) c offset 1h > 0.8 * 1e3': {"b", "c"},
        'histogram_quantile(0.99, sum without (pod) (rate(d[$__rate_interval])))': {"d"},
        'changes(e{instance=~"$instance"}[1h]) > 2 and up{job="parley"} == 0': {"e", "up"},
        'time() - f * 1000': {"f"},
    }
    for expr, want in cases.items():
        got = metric_names(expr)
        if got != want:
            fail(f"metric_names({expr!r}) = {sorted(got)}, expected {sorted(want)}")


def dashboard_exprs(path):
    """(where, PromQL) for every query in the dashboard, after checking its shape."""
    with open(path) as f:
        dash = json.load(f)
    if dash.get("uid") != "parley":
        fail(f"{path}: uid is {dash.get('uid')!r}, expected 'parley'")
    if not dash.get("title"):
        fail(f"{path}: no title")
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        fail(f"{path}: no Prometheus datasource variable named 'datasource'")
    panels = []
    for p in dash.get("panels", []):
        panels.append(p)
        panels.extend(p.get("panels", []))  # collapsed rows hold their panels
    graphs = [p for p in panels if p.get("type") != "row"]
    if not graphs:
        fail(f"{path}: no panels")
    exprs = []
    for p in graphs:
        title = p.get("title", f"panel {p.get('id')}")
        if not p.get("gridPos"):
            fail(f"{path}: panel {title!r} has no gridPos")
        if (p.get("datasource") or {}).get("uid") != "${datasource}":
            fail(f"{path}: panel {title!r} does not use the datasource variable")
        targets = p.get("targets", [])
        if not targets:
            fail(f"{path}: panel {title!r} has no queries")
        for t in targets:
            if not t.get("expr"):
                fail(f"{path}: panel {title!r} has a query without expr")
            else:
                exprs.append((f"panel {title!r}", t["expr"]))
    ids = [p.get("id") for p in panels]
    if len(ids) != len(set(ids)):
        fail(f"{path}: panel ids repeat: {ids}")
    for name, v in variables.items():
        query = v.get("query")
        query = query.get("query") if isinstance(query, dict) else query
        m = re.fullmatch(r"\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*", query or "")
        if v.get("type") == "query" and m:
            exprs.append((f"variable {name!r}", m.group(1)))
    return exprs


def rule_exprs(path):
    """(where, PromQL) for every alerting rule, after checking its shape."""
    with open(path) as f:
        doc = yaml.safe_load(f)
    groups = (doc or {}).get("groups") or []
    if not groups:
        fail(f"{path}: no groups")
    exprs = []
    names = set()
    for g in groups:
        if not g.get("name"):
            fail(f"{path}: a group without a name")
        rules = g.get("rules") or []
        if not rules:
            fail(f"{path}: group {g.get('name')!r} has no rules")
        for r in rules:
            alert = r.get("alert")
            if not alert or not r.get("expr"):
                fail(f"{path}: group {g.get('name')!r} has a rule without alert or expr: {r}")
                continue
            if alert in names:
                fail(f"{path}: alert {alert} appears twice")
            names.add(alert)
            if not (r.get("labels") or {}).get("severity"):
                fail(f"{path}: alert {alert} has no severity label")
            if not (r.get("annotations") or {}).get("summary"):
                fail(f"{path}: alert {alert} has no summary annotation")
            if "for" in r and not re.fullmatch(r"(\d+(ms|s|m|h|d|w|y))+", str(r["for"])):
                fail(f"{path}: alert {alert} has a malformed for: {r['for']!r}")
            exprs.append((f"alert {alert}", str(r["expr"])))
    return exprs


def start_parley(binary, data):
    """A server with TLS (a certificate made here), so that the TLS metrics are exposed too."""
    cert, key = os.path.join(data, "server.crt"), os.path.join(data, "server.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = open(os.path.join(data, "server.log"), "w+")
    proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--data-dir", data, "--password-cost", "min",
                             "--tls-cert", cert, "--tls-key", key],
                            stdout=subprocess.DEVNULL, stderr=log)
    # The server writes the line once it listens: "listening on
    # http://127.0.0.1:PORT", or a structured line with port=PORT.
    line = re.compile(r"listening on https?://127\.0\.0\.1:(\d+)|listening\b.*\bport=(\d+)")
    for _ in range(1200):
        log.seek(0)
        m = line.search(log.read())
        if m:
            return proc, int(m.group(1) or m.group(2))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    log.seek(0)
    proc.kill()
    sys.exit(f"monitoring_test: parley did not start (exit status {proc.wait()}):\n{log.read()}")


def exposed_families(port, cert):
    """Sample names and {family: type} of a /metrics scrape."""
    trust = ssl.create_default_context(cafile=cert)
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/metrics", timeout=30, context=trust) as r:
        text = r.read().decode()
    types, samples = {}, set()
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)", line)
        if m:
            types[m.group(1)] = m.group(2)
        elif line and not line.startswith("#"):
            samples.add(re.match(r"[^{\s]+", line).group(0))
    return types, samples


def is_exposed(name, types, samples):
    for suffix in HISTOGRAM_SUFFIXES:
        family = name[: -len(suffix)]
        if name.endswith(suffix) and types.get(family) in ("histogram", "summary"):
            return True
    # A histogram's own name selects no series; only its _bucket/_sum/_count do.
    return (name in types and types[name] not in ("histogram", "summary")) or name in samples


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    binary, source = sys.argv[1], sys.argv[2]
    check_metric_names_parser()
    exprs = dashboard_exprs(os.path.join(source, "packaging/grafana/parley-dashboard.json"))
    exprs += rule_exprs(os.path.join(source, "packaging/prometheus/parley-alerts.yml"))
    used = {}
    for where, expr in exprs:
        try:
            names = metric_names(expr)
        except ValueError as e:
            fail(f"{where}: {e}")
            continue
        if not names:
            fail(f"{where}: no metric in {expr!r}")
        for n in names - SYNTHETIC:
            used.setdefault(n, []).append(where)

    data = tempfile.mkdtemp(prefix="parley-monitoring-")
    proc = None
    try:
        proc, port = start_parley(binary, data)
        types, samples = exposed_families(port, os.path.join(data, "server.crt"))
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            proc.wait()
        shutil.rmtree(data, ignore_errors=True)
    if not any(t.startswith("parley_") for t in types):
        fail("the scrape has no parley_ metrics")
    for name in sorted(used):
        if not is_exposed(name, types, samples):
            fail(f"{name} is not exposed by /metrics (used by {', '.join(sorted(set(used[name])))})")
    if failures:
        for f in failures:
            print("monitoring_test:", f, file=sys.stderr)
        sys.exit(1)
    print(f"monitoring_test: {len(exprs)} expressions, {len(used)} metrics, all exposed")


if __name__ == "__main__":
    main()
