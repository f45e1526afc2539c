"""TPC-DS generator worker, run by the *generator* interpreter, not by the project.

This file is executed as a script (``python -I _gen_worker.py '<json args>'``) by the Python of the
cached generator virtual environment (``duckdb==1.5.5`` + ``duckdb-extension-tpcds==1.5.5``), see
:mod:`tpcds.generate`.  It must therefore import nothing from the project's packages and nothing outside
the standard library except ``duckdb`` and ``duckdb_extension_tpcds``.

Arguments: a single JSON object with keys

``sf`` (float)              scale factor
``out`` (str)               directory to write into (it exists and is empty)
``row_group_size`` (int)    Parquet row-group size in rows
``max_file_bytes`` (int)    target size of one Parquet file; bigger tables are split into several files
``generator`` (str)         ``"duckdb"`` (``CALL dsdgen``) or ``"tpcgen"`` (rewrite tpcgen-cli output)
``tpcgen_dir`` (str|null)   with ``"tpcgen"``: the directory with ``<table>.parquet`` files of tpcgen-cli
``database`` (str)          ``":memory:"`` or a path for a temporary DuckDB database file (spills to disk)
``threads`` (int|null)      DuckDB threads

Protocol: one JSON object per line on stdout.  ``{"event": "step", "msg": ...}`` for progress and, last,
``{"event": "done", "tables": {name: {"rows": n, "files": [...]}}, "queries": n, "duckdb": version}``.
Errors end the process with a non-zero exit code and a traceback on stderr.
"""

import glob
import json
import os
import sys
import time


def _emit(event: str, **fields) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def _extension_path() -> str:
    """Path of the ``tpcds.duckdb_extension`` file bundled in the ``duckdb-extension-tpcds`` wheel."""
    import duckdb
    import duckdb_extension_tpcds

    root = os.path.join(os.path.dirname(duckdb_extension_tpcds.__file__), "extensions")
    exact = os.path.join(root, "v" + duckdb.__version__, "tpcds.duckdb_extension")
    if os.path.exists(exact):
        return exact
    found = sorted(glob.glob(os.path.join(root, "*", "tpcds.duckdb_extension")))
    if not found:
        raise RuntimeError(f"no tpcds.duckdb_extension under {root}")
    return found[-1]


def _quote_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def main(argv: list[str]) -> int:
    args = json.loads(argv[1])
    import duckdb

    t0 = time.perf_counter()
    out = args["out"]
    con = duckdb.connect(args.get("database") or ":memory:")
    con.execute("SET enable_progress_bar = false")
    if args.get("threads"):
        con.execute(f"SET threads = {int(args['threads'])}")
    ext = _extension_path()
    con.execute(f"LOAD {_quote_str(ext)}")
    _emit("step", msg=f"loaded {os.path.basename(ext)} into duckdb {duckdb.__version__}")

    sf = float(args["sf"])
    copy_opts = (
        f"FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {int(args['row_group_size'])}, "
        f"FILE_SIZE_BYTES {int(args['max_file_bytes'])}, FILENAME_PATTERN 'part-{{i}}'"
    )
    if args["generator"] == "duckdb":
        t = time.perf_counter()
        con.execute(f"CALL dsdgen(sf={sf!r})")
        _emit("step", msg=f"dsdgen(sf={sf:g}) took {time.perf_counter() - t:.1f} s")
        tables = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
        sources = {name: _quote_ident(name) for name in tables}
    elif args["generator"] == "tpcgen":
        # Schema reference: the empty tables of dsdgen(sf=0).  tpcgen-cli writes INTEGER keys where
        # dsdgen has BIGINT and spells s_tax_precentage (the spec's typo); cast and rename by position.
        con.execute("CALL dsdgen(sf=0)")
        tables = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
        sources = {}
        for name in tables:
            path = os.path.join(args["tpcgen_dir"], name + ".parquet")
            if not os.path.exists(path):
                raise RuntimeError(f"tpcgen-cli produced no {path}")
            want = con.execute(f"DESCRIBE {_quote_ident(name)}").fetchall()
            have = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_quote_str(path)})").fetchall()
            if len(want) != len(have):
                raise RuntimeError(f"{name}: tpcgen-cli has {len(have)} columns, dsdgen {len(want)}")
            cols = ", ".join(
                f"CAST({_quote_ident(h[0])} AS {w[1]}) AS {_quote_ident(w[0])}"
                for w, h in zip(want, have, strict=True)
            )
            sources[name] = f"(SELECT {cols} FROM read_parquet({_quote_str(path)}))"
    else:
        raise ValueError(f"unknown generator {args['generator']!r}")

    result = {}
    for name in tables:
        t = time.perf_counter()
        target = os.path.join(out, name)
        con.execute(f"COPY {sources[name]} TO {_quote_str(target)} ({copy_opts})")
        files = sorted(os.listdir(target)) if os.path.isdir(target) else []
        rows = con.execute(
            f"SELECT count(*) FROM read_parquet({_quote_str(os.path.join(target, '*.parquet'))})"
        ).fetchall()[0][0]
        if args["generator"] == "duckdb":
            con.execute(f"DROP TABLE {_quote_ident(name)}")  # frees memory as we go
        result[name] = {"rows": rows, "files": files}
        _emit(
            "step", msg=f"wrote {name}: {rows} rows, {len(files)} file(s) in {time.perf_counter() - t:.1f} s"
        )

    queries = con.execute("SELECT query_nr, query FROM tpcds_queries() ORDER BY query_nr").fetchall()
    with open(os.path.join(out, "queries.json"), "w", encoding="utf-8") as fh:
        json.dump({str(nr): text for nr, text in queries}, fh, indent=1)
    _emit("step", msg=f"wrote queries.json with {len(queries)} queries")
    con.close()
    _emit(
        "done",
        tables=result,
        queries=len(queries),
        duckdb=duckdb.__version__,
        seconds=round(time.perf_counter() - t0, 3),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
