#!/usr/bin/env python3
"""Schema parity of the two storage engines (ctest: pg_schema_parity).

Applies sql/0*.sql in order to an in-memory SQLite database and
sql/postgres/*.sql in order (psql -v ON_ERROR_STOP=1) to a scratch PostgreSQL
started with scripts/pg-scratch.sh in a temporary directory, then compares
the two schemas:

  * both end at one migration number, and every migration after
    sql/postgres/'s first (the whole schema up to its number) has a twin of
    the same name in sql/;
  * the same tables;
  * per table the same columns in the same order, with compatible types
    (INTEGER/bigint, TEXT/text, BLOB/bytea), the same NOT NULL-ness and the
    same defaults, and the same primary key;
  * identity columns exactly where SQLite assigns ids itself (an INTEGER
    PRIMARY KEY that the server does not assign);
  * the same named indexes (CREATE INDEX: SQLite's autoindexes and
    PostgreSQL's primary key and constraint indexes are left out) with the
    same uniqueness, columns and WHERE clause, plus the unique column sets
    of UNIQUE constraints;
  * the same foreign keys (columns, referenced table and columns, ON DELETE,
    ON UPDATE).

PG_ONLY_INDEXES lists the intended differences. Prints each difference and
exits 1 on a mismatch; exits 0 on parity; prints "SKIP: ..." and exits 77
when the PostgreSQL binaries are missing. The scratch server is always
stopped.

Usage: schema_parity_test.py [SOURCE_DIR]   (default: the checkout this file is in)
Python 3 standard library only.
"""

import glob
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile

# Indexes PostgreSQL has and SQLite has not, on purpose:
# name -> (table, unique, columns, WHERE clause or None).
PG_ONLY_INDEXES = {}

# INTEGER PRIMARY KEY columns whose values the server assigns: plain BIGINT
# in PostgreSQL. Every other INTEGER PRIMARY KEY is an identity column.
SERVER_ASSIGNED_IDS = {("rooms", "id")}

TYPES = {"INTEGER": "bigint", "TEXT": "text", "BLOB": "bytea"}
FK_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


# --- normalisation -------------------------------------------------------------

def strip_casts(text):
    """'0'::bigint -> '0', ''::text -> '' (repeatedly, for nested casts)."""
    prev = None
    while prev != text:
        prev = text
        text = re.sub(r"::[a-z_ ]+(\[\])?", "", text)
    return text


def norm_default(text, pg_type):
    if text is None:
        return None
    text = strip_casts(text.strip())
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    # PostgreSQL quotes a negative number as a literal: '-1'::bigint.
    if pg_type == "bigint" and re.fullmatch(r"'-?\d+'", text):
        text = text[1:-1]
    return text


def norm_predicate(text):
    if text is None:
        return None
    text = strip_casts(text)
    text = text.replace("!=", "<>").replace("(", " ").replace(")", " ")
    text = re.sub(r"\s+", " ", text).strip().rstrip(";").strip()
    return text.lower()


# --- SQLite ---------------------------------------------------------------------

def sqlite_schema(source):
    files = sorted(glob.glob(os.path.join(source, "sql", "0*.sql")))
    if not files:
        raise SystemExit(f"no SQLite migrations in {source}/sql")
    db = sqlite3.connect(":memory:")
    for f in files:
        with open(f, encoding="utf-8") as fh:
            try:
                db.executescript(fh.read())
            except sqlite3.Error as e:
                raise SystemExit(f"SQLite: {os.path.basename(f)}: {e}")

    schema = {"tables": {}, "indexes": {}, "fks": set(), "files": [os.path.basename(f) for f in files]}
    tables = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    pks = {}
    for name, sql in tables:
        without_rowid = re.search(r"\bWITHOUT\s+ROWID\b", sql, re.I) is not None
        info = db.execute(f'PRAGMA table_info("{name}")').fetchall()
        pk = [row[1] for row in sorted((r for r in info if r[5] > 0), key=lambda r: r[5])]
        pks[name] = pk
        rowid_alias = None
        if not without_rowid and len(pk) == 1:
            decl = next(r[2] for r in info if r[1] == pk[0])
            if decl.upper() == "INTEGER":
                rowid_alias = pk[0]
        cols = []
        for _cid, col, decl, notnull, dflt, pkpos in info:
            pg_type = TYPES.get(decl.upper(), f"? (SQLite type {decl!r})")
            # A primary key column of a WITHOUT ROWID table, and a rowid
            # alias, can never be NULL; other SQLite primary keys can.
            effective_notnull = bool(notnull) or (pkpos > 0 and (without_rowid or col == rowid_alias))
            identity = col == rowid_alias and (name, col) not in SERVER_ASSIGNED_IDS
            cols.append({
                "name": col,
                "type": pg_type,
                "notnull": effective_notnull,
                "default": norm_default(dflt, pg_type),
                "identity": identity,
            })
        uniques = set()
        for _seq, idx, unique, origin, _partial in db.execute(f'PRAGMA index_list("{name}")').fetchall():
            idx_cols = tuple(r[2] for r in sorted(db.execute(f'PRAGMA index_info("{idx}")').fetchall()))
            if origin == "u":
                uniques.add(idx_cols)
            elif origin == "c":
                (idx_sql,) = db.execute(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (idx,)).fetchone()
                m = re.search(r"\bWHERE\b(.*)$", idx_sql, re.I | re.S)
                schema["indexes"][idx] = (name, bool(unique), idx_cols, norm_predicate(m.group(1) if m else None))
        schema["tables"][name] = {"columns": cols, "pk": tuple(pk), "uniques": uniques}

    for name, _sql in tables:
        groups = {}
        for fk_id, _seq, ref, frm, to, on_update, on_delete, _match in db.execute(
                f'PRAGMA foreign_key_list("{name}")').fetchall():
            groups.setdefault(fk_id, []).append((frm, to, ref, on_update, on_delete))
        for rows in groups.values():
            ref = rows[0][2]
            frm = tuple(r[0] for r in rows)
            to = tuple(r[1] for r in rows)
            if any(t is None for t in to):  # REFERENCES t without columns: t's primary key
                to = tuple(pks.get(ref, ()))
            schema["fks"].add((name, frm, ref, to, rows[0][4].upper(), rows[0][3].upper()))
    db.close()
    return schema


# --- PostgreSQL -----------------------------------------------------------------

def pg_bindir():
    """The directory of initdb/postgres/pg_ctl, looked up as pg-scratch.sh does, or None."""
    env = os.environ.get("PG_BINDIR")
    if env:
        return env if os.access(os.path.join(env, "postgres"), os.X_OK) else None
    found = [d for d in glob.glob("/usr/lib/postgresql/*/bin")
             if all(os.access(os.path.join(d, p), os.X_OK) for p in ("initdb", "postgres", "pg_ctl"))]
    if found:
        return max(found, key=lambda d: [int(x) if x.isdigit() else 0 for x in d.split("/")[-2].split(".")])
    initdb = shutil.which("initdb")
    if initdb and shutil.which("postgres") and shutil.which("pg_ctl"):
        return os.path.dirname(os.path.realpath(initdb))
    return None


def missing_postgres():
    bindir = pg_bindir()
    if bindir is None:
        return "PostgreSQL server binaries (initdb, postgres, pg_ctl) not found; install postgresql-15"
    for tool in ("psql", "pg_isready"):
        if not (os.access(os.path.join(bindir, tool), os.X_OK) or shutil.which(tool)):
            return f"{tool} not found; install postgresql-client-15"
    return None


class Scratch:
    """A server started by scripts/pg-scratch.sh in DIR."""

    def __init__(self, script, directory):
        self.script = script
        self.dir = directory
        self.started = False

    def start(self):
        env = dict(os.environ, PG_SCRATCH_FAST="1")
        self.started = True  # stop even after a failed or interrupted start
        r = subprocess.run([self.script, "start", self.dir], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=90)
        if r.returncode != 0:
            raise SystemExit(f"pg-scratch.sh start failed ({r.returncode}):\n{r.stderr}")
        return r.stdout.strip()

    def psql(self, *args):
        r = subprocess.run([self.script, "psql", self.dir, "-X", "-q", "-v", "ON_ERROR_STOP=1", *args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        return r.returncode, r.stdout, r.stderr

    def query_json(self, sql):
        code, out, err = self.psql("-A", "-t", "-c", f"SELECT coalesce(json_agg(q), '[]') FROM ({sql}) q")
        if code != 0:
            raise SystemExit(f"PostgreSQL query failed: {err}\n{sql}")
        return json.loads(out)

    def stop(self):
        if not self.started:
            return
        r = subprocess.run([self.script, "stop", self.dir], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        if r.returncode != 0:
            print(f"warning: pg-scratch.sh stop failed: {r.stderr}", file=sys.stderr)


PG_COLUMNS = """
SELECT c.relname AS tbl, a.attname AS col, format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS dflt, a.attidentity AS identity
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY c.relname, a.attnum
"""

PG_INDEXES = """
SELECT t.relname AS tbl, i.relname AS idx, x.indisunique AS uniq, x.indisprimary AS primary,
       x.indexprs IS NOT NULL AS has_exprs,
       ARRAY(SELECT a.attname
               FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
              ORDER BY k.ord) AS cols,
       pg_get_expr(x.indpred, x.indrelid) AS pred,
       (SELECT con.contype FROM pg_constraint con
         WHERE con.conindid = x.indexrelid AND con.conrelid = x.indrelid
           AND con.contype IN ('p', 'u')) AS contype
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_class t ON t.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
 WHERE n.nspname = 'public'
 ORDER BY t.relname, i.relname
"""

PG_FKS = """
SELECT c.conname AS name, t.relname AS tbl, r.relname AS ref,
       ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS frm,
       ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS "to",
       c.confdeltype AS on_delete, c.confupdtype AS on_update
  FROM pg_constraint c
  JOIN pg_class t ON t.oid = c.conrelid
  JOIN pg_class r ON r.oid = c.confrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
 WHERE n.nspname = 'public' AND c.contype = 'f'
"""


def pg_schema(source, scratch):
    files = sorted(glob.glob(os.path.join(source, "sql", "postgres", "*.sql")))
    if not files:
        raise SystemExit(f"no PostgreSQL migrations in {source}/sql/postgres")
    for f in files:
        code, _out, err = scratch.psql("-f", f)
        if code != 0:
            raise SystemExit(f"PostgreSQL: {os.path.basename(f)} failed:\n{err}")

    schema = {"tables": {}, "indexes": {}, "fks": set(), "files": [os.path.basename(f) for f in files]}
    for row in scratch.query_json(PG_COLUMNS):
        t = schema["tables"].setdefault(row["tbl"], {"columns": [], "pk": (), "uniques": set()})
        t["columns"].append({
            "name": row["col"],
            "type": row["type"],
            "notnull": row["notnull"],
            "default": norm_default(row["dflt"], row["type"]),
            "identity": row["identity"] == "d",
            "identity_kind": row["identity"],
        })
    for row in scratch.query_json(PG_INDEXES):
        t = schema["tables"].setdefault(row["tbl"], {"columns": [], "pk": (), "uniques": set()})
        cols = tuple(row["cols"])
        if row["has_exprs"]:
            cols += ("<expression>",)
        if row["primary"]:
            t["pk"] = cols
        elif row["contype"] == "u":
            t["uniques"].add(cols)
        else:
            schema["indexes"][row["idx"]] = (row["tbl"], row["uniq"], cols, norm_predicate(row["pred"]))
    for row in scratch.query_json(PG_FKS):
        schema["fks"].add((row["tbl"], tuple(row["frm"]), row["ref"], tuple(row["to"]),
                           FK_ACTIONS.get(row["on_delete"], row["on_delete"]),
                           FK_ACTIONS.get(row["on_update"], row["on_update"])))
    return schema


# --- comparison -----------------------------------------------------------------

def describe_index(spec):
    table, unique, cols, pred = spec
    text = f"{'UNIQUE ' if unique else ''}ON {table}({', '.join(cols)})"
    return text + (f" WHERE {pred}" if pred else "")


def describe_fk(fk):
    table, frm, ref, to, on_delete, on_update = fk
    return f"{table}({', '.join(frm)}) -> {ref}({', '.join(to)}) ON DELETE {on_delete} ON UPDATE {on_update}"


def compare_files(lite_files, pg_files):
    """Both engines end at one schema version, and the migrations after
    PostgreSQL's first (the whole schema up to its number) come in pairs of
    one name."""
    diffs = []
    number = lambda f: int(f[:3]) if f[:3].isdigit() else None  # noqa: E731
    if number(lite_files[-1]) != number(pg_files[-1]):
        diffs.append(f"migrations: SQLite ends at {lite_files[-1]}, PostgreSQL at {pg_files[-1]}")
    for f in pg_files[1:]:
        if f not in lite_files:
            diffs.append(f"migration sql/postgres/{f} has no SQLite twin sql/{f}")
    first = number(pg_files[0])
    for f in lite_files:
        n = number(f)
        if first is not None and n is not None and n > first and f not in pg_files:
            diffs.append(f"migration sql/{f} has no PostgreSQL twin sql/postgres/{f}")
    return diffs


def compare(lite, pg):
    diffs = compare_files(lite["files"], pg["files"])
    lt, pt = set(lite["tables"]), set(pg["tables"])
    for t in sorted(lt - pt):
        diffs.append(f"table {t}: in SQLite only")
    for t in sorted(pt - lt):
        diffs.append(f"table {t}: in PostgreSQL only")

    for t in sorted(lt & pt):
        a, b = lite["tables"][t], pg["tables"][t]
        an = [c["name"] for c in a["columns"]]
        bn = [c["name"] for c in b["columns"]]
        if an != bn:
            diffs.append(f"table {t}: columns differ\n    SQLite:     {', '.join(an)}\n    PostgreSQL: {', '.join(bn)}")
        bcols = {c["name"]: c for c in b["columns"]}
        for ca in a["columns"]:
            cb = bcols.get(ca["name"])
            if cb is None:
                continue
            where = f"column {t}.{ca['name']}"
            if ca["type"] != cb["type"]:
                diffs.append(f"{where}: type: SQLite wants {ca['type']}, PostgreSQL has {cb['type']}")
            if ca["notnull"] != cb["notnull"]:
                diffs.append(f"{where}: NOT NULL: SQLite {ca['notnull']}, PostgreSQL {cb['notnull']}")
            if ca["default"] != cb["default"]:
                diffs.append(f"{where}: default: SQLite {ca['default']!r}, PostgreSQL {cb['default']!r}")
            if ca["identity"] and cb["identity_kind"] != "d":
                diffs.append(f"{where}: SQLite assigns it (INTEGER PRIMARY KEY); PostgreSQL needs "
                             f"GENERATED BY DEFAULT AS IDENTITY")
            if not ca["identity"] and cb["identity_kind"]:
                diffs.append(f"{where}: an identity column in PostgreSQL, but SQLite does not assign it")
        if a["pk"] != b["pk"]:
            diffs.append(f"table {t}: primary key: SQLite ({', '.join(a['pk'])}), PostgreSQL ({', '.join(b['pk'])})")
        for u in sorted(a["uniques"] - b["uniques"]):
            diffs.append(f"table {t}: UNIQUE ({', '.join(u)}) in SQLite only")
        for u in sorted(b["uniques"] - a["uniques"]):
            diffs.append(f"table {t}: UNIQUE ({', '.join(u)}) in PostgreSQL only")

    li, pi = lite["indexes"], pg["indexes"]
    for name in sorted(set(li) | set(pi)):
        if name in PG_ONLY_INDEXES:
            want = PG_ONLY_INDEXES[name]
            if name in li:
                diffs.append(f"index {name}: meant to be PostgreSQL only, but SQLite has it too")
            if name not in pi:
                diffs.append(f"index {name}: missing in PostgreSQL (wanted {describe_index(want)})")
            elif pi[name] != want:
                diffs.append(f"index {name}: PostgreSQL has {describe_index(pi[name])}, wanted {describe_index(want)}")
        elif name not in pi:
            diffs.append(f"index {name}: in SQLite only ({describe_index(li[name])})")
        elif name not in li:
            diffs.append(f"index {name}: in PostgreSQL only ({describe_index(pi[name])})")
        elif li[name] != pi[name]:
            diffs.append(f"index {name}: differs\n    SQLite:     {describe_index(li[name])}\n"
                         f"    PostgreSQL: {describe_index(pi[name])}")

    for fk in sorted(lite["fks"] - pg["fks"]):
        diffs.append(f"foreign key in SQLite only: {describe_fk(fk)}")
    for fk in sorted(pg["fks"] - lite["fks"]):
        diffs.append(f"foreign key in PostgreSQL only: {describe_fk(fk)}")
    return diffs


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    source = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", ".."))
    script = os.path.join(source, "scripts", "pg-scratch.sh")

    why = missing_postgres()
    if why:
        print(f"SKIP: {why}")
        return 77

    lite = sqlite_schema(source)

    # pg-scratch.sh runs the server as parley-test when we are root: the
    # directory it makes must hang under one that user can traverse.
    tmp = tempfile.mkdtemp(prefix="parley-pg-parity-")
    os.chmod(tmp, 0o755)
    scratch = Scratch(script, os.path.join(tmp, "pg"))
    # ctest's timeout and ^C: still stop the server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        url = scratch.start()
        print(f"scratch PostgreSQL: {url}")
        pg = pg_schema(source, scratch)
    finally:
        scratch.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"SQLite:     {' '.join(lite['files'])}")
    print(f"PostgreSQL: {' '.join(pg['files'])}")
    diffs = compare(lite, pg)
    if diffs:
        print(f"FAIL: the schemas differ ({len(diffs)} differences):")
        for d in diffs:
            print(f"  - {d}")
        return 1
    ntab = len(lite["tables"])
    ncol = sum(len(t["columns"]) for t in lite["tables"].values())
    print(f"OK: {ntab} tables, {ncol} columns, {len(lite['indexes'])} indexes "
          f"(+{len(PG_ONLY_INDEXES)} PostgreSQL only), {len(lite['fks'])} foreign keys alike")
    return 0


if __name__ == "__main__":
    sys.exit(main())
