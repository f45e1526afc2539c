"""Running a plan through the SQL engine's path: bind -> rewrite (time travel, pruning) -> DuckDB."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from ._plan import Plan, compile_plan

if TYPE_CHECKING:
    from ..runtime import Runtime
    from ..sql import Plan as SqlPlan

STREAM_BATCH_ROWS = 122_880  # DuckDB's row-group sized vectors: 60 x 2048


def tree_of(plan: Plan) -> exp.Query:
    return compile_plan(plan)


def collect(runtime: Runtime, plan: Plan) -> pa.Table:
    from ..sql import run_query

    return run_query(runtime, tree_of(plan)).to_arrow()


def explain(runtime: Runtime, plan: Plan, *, analyze: bool = False) -> str:
    from ..sql import explain_query

    return explain_query(runtime, tree_of(plan), analyze=analyze)


def count(runtime: Runtime, plan: Plan) -> int:
    from ..sql import run_query

    inner = exp.Subquery(this=tree_of(plan), alias=exp.TableAlias(this=exp.to_identifier("_c")))
    tree = sqlglot.select(exp.alias_(exp.Count(this=exp.Star()), "n")).from_(inner)
    return int(run_query(runtime, tree).to_arrow().column(0)[0].as_py())


def schema(runtime: Runtime, plan: Plan) -> pa.Schema:
    """The output schema, from planning the query with ``LIMIT 0`` (files are pruned, none is read)."""
    from ..sql import run_query

    inner = exp.Subquery(this=tree_of(plan), alias=exp.TableAlias(this=exp.to_identifier("_s")))
    tree = sqlglot.select("*").from_(inner).limit(0)
    return run_query(runtime, tree).to_arrow().schema


def stream(runtime: Runtime, plan: Plan, batch_size: int | None = None) -> pa.RecordBatchReader:
    """Rows as a stream of record batches, read while consumed.

    The stream runs on its own DuckDB cursor, so the runtime stays usable while it is open.
    """
    from ..sql import plan_query

    tree = tree_of(plan)
    return stream_planned(runtime, plan_query(runtime, tree), tree.sql(dialect="duckdb"), batch_size)


def stream_planned(
    runtime: Runtime, p: SqlPlan, text: str, batch_size: int | None = None
) -> pa.RecordBatchReader:
    """``stream`` of a plan already bound and rewritten (``engine.sql.plan_query``)."""
    from ..sql.errors import from_duckdb

    cursor = runtime.cursor()
    try:
        for name, table in p.regs.tables.items():
            cursor.register(name, table)
        rel = cursor.sql(p.sql, params=p.params) if p.params else cursor.sql(p.sql)
        reader = rel.to_arrow_reader(batch_size or STREAM_BATCH_ROWS)
    except duckdb.Error as e:
        cursor.close()
        raise from_duckdb(e, text) from None
    except BaseException:
        cursor.close()
        raise

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from reader
        except duckdb.InterruptException:
            raise KeyboardInterrupt("query cancelled") from None
        except duckdb.Error as e:
            raise from_duckdb(e, text) from None
        finally:
            cursor.close()

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


def display_sql(plan: Plan) -> str:
    """The plan as DuckDB SQL that ``db.sql`` runs: pinned tables show ``VERSION AS OF n``."""
    from ..sql.bind import PIN

    tree = tree_of(plan)
    for t in tree.find_all(exp.Table):
        pin = t.meta.get(PIN)
        if pin is not None:
            t.set(
                "version",
                exp.Version(
                    this="VERSION", kind="AS OF", expression=exp.Literal.number(pin.snapshot.version)
                ),
            )
    return tree.sql(dialect="duckdb")
