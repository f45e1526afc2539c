"""CREATE SCHEMA / TABLE [AS SELECT], DROP SCHEMA / TABLE, ALTER TABLE."""

from __future__ import annotations

import json

import pyarrow as pa
from sqlglot import exp

from lakehouse import Transaction
from lakehouse.errors import SchemaMismatch, SqlError, TableNotFound
from lakehouse.schema import normalize_schema

from ...result import Result
from ..bind import SnapshotCache
from ..dispatch import Context, passthrough, statement
from ..execute import check_params, reader, registered
from ..rewrite import plan_query
from . import views
from ._common import arrow_types, name_of, namespace_of, resolve_target, with_retries
from .column_options import check_options, column_option
from .columns_ddl import alter_columns
from .comments import comment_text, commented_schema
from .locations import check_location

# ---------------------------------------------------------------------------------------- CREATE


@statement(exp.Create)
def create(ctx: Context) -> Result:
    tree = ctx.tree
    kind = str(tree.args.get("kind") or "").upper()
    if kind in ("SCHEMA", "DATABASE"):
        return _create_schema(ctx, tree)
    if kind == "TABLE" and views.is_temp(tree):
        return views.create_temp_table(ctx, tree)
    if kind == "TABLE":
        return _create_table(ctx, tree)
    if kind == "VIEW":
        return views.create_view(ctx, tree)
    return passthrough(ctx)  # macros, sequences, types: DuckDB session objects


def _create_schema(ctx: Context, tree: exp.Create) -> Result:
    from catalog import NamespaceAlreadyExists

    ns = namespace_of(tree.this)
    try:
        ctx.runtime.catalog.create_namespace(ns)
    except NamespaceAlreadyExists:
        if tree.args.get("exists"):
            return Result.status(f"schema {ns} already exists", ctx.text)
        raise SqlError(f"schema {ns!r} already exists (use CREATE SCHEMA IF NOT EXISTS)") from None
    return Result.status(f"created schema {ns}", ctx.text)


class _Spec:
    def __init__(self) -> None:
        self.partition_by: list[str] = []
        self.properties: dict[str, str] = {}
        self.location: str | None = None
        self.extra_columns: list[tuple[str, exp.DataType]] = []
        self.comment: str | None = None  # the table's COMMENT (Delta: metaData.description)
        self.column_comments: dict[str, str | None] = {}
        self.field_metadata: dict[str, dict[str, str]] = {}  # GENERATED / IDENTITY / DEFAULT


def _properties(tree: exp.Create) -> _Spec:
    spec = _Spec()
    props = tree.args.get("properties")
    for p in props.expressions if props is not None else []:
        if isinstance(p, exp.PartitionedByProperty):
            cols = p.this.expressions if isinstance(p.this, exp.Schema | exp.Tuple) else [p.this]
            for c in cols:
                if isinstance(c, exp.ColumnDef):
                    spec.extra_columns.append((c.name, c.args["kind"]))
                spec.partition_by.append(c.name)
        elif isinstance(p, exp.FileFormatProperty):
            fmt = p.name.upper() if p.this is not None else ""
            if fmt not in ("DELTA", ""):
                raise SqlError(f"tables are Delta tables: USING {fmt} is not supported (use USING DELTA)")
        elif isinstance(p, exp.LocationProperty):
            spec.location = p.this.name
        elif isinstance(p, exp.SchemaCommentProperty):
            spec.comment = comment_text(p.this)
        elif isinstance(p, exp.EngineProperty):
            continue
        elif isinstance(p, exp.TemporaryProperty):
            raise SqlError("CREATE TEMP TABLE is not supported: create a table and drop it afterwards")
        elif isinstance(p, exp.Property) and p.args.get("value") is not None:
            spec.properties[p.name] = p.args["value"].name
        else:
            raise SqlError(f"unsupported table option {p.sql(dialect='duckdb')!r}")
    return spec


def _columns(ctx: Context, defs: list[exp.Expression], spec: _Spec) -> pa.Schema:
    types: list[tuple[str, exp.DataType]] = []
    not_null: set[str] = set()
    for d in defs:
        if isinstance(d, exp.Constraint):  # CONSTRAINT name CHECK (...)
            for c in d.expressions:
                if not isinstance(c, exp.CheckColumnConstraint):
                    raise SqlError(f"unsupported constraint {d.sql(dialect='duckdb')!r}: only CHECK")
                spec.properties[f"delta.constraints.{d.name}"] = c.this.sql(dialect="duckdb")
            continue
        if not isinstance(d, exp.ColumnDef):
            raise SqlError(f"unsupported table element {d.sql(dialect='duckdb')!r}")
        kind = d.args.get("kind")
        if kind is None:
            raise SqlError(f"column {d.name!r} needs a type")
        types.append((d.name, kind))
        for c in d.args.get("constraints") or []:
            k = c.args.get("kind")
            if isinstance(k, exp.NotNullColumnConstraint) and not k.args.get("allow_null"):
                not_null.add(d.name)
            elif isinstance(k, exp.CheckColumnConstraint):
                spec.properties[f"delta.constraints.{d.name}_check"] = k.this.sql(dialect="duckdb")
            elif isinstance(k, exp.CommentColumnConstraint):
                spec.column_comments[d.name] = comment_text(k.this)
            elif (option := column_option(d.name, k)) is not None:
                spec.field_metadata.setdefault(d.name, {}).update(option)
            else:
                raise SqlError(
                    f"column constraint {c.sql(dialect='duckdb')!r} on {d.name!r} is not supported "
                    f"(Delta tables have NOT NULL and CHECK constraints only)"
                )
    known = {n.lower() for n, _ in types}
    types += [(n, t) for n, t in spec.extra_columns if n.lower() not in known]
    schema = arrow_types(ctx.runtime, types)
    schema = pa.schema(
        [
            f.with_nullable(f.name not in not_null).with_metadata(spec.field_metadata.get(f.name))
            for f in schema
        ]
    )
    if spec.field_metadata:
        check_options(schema)
    return commented_schema(schema, spec.column_comments)


def _create_table(ctx: Context, tree: exp.Create) -> Result:
    target = tree.this
    spec = _properties(tree)
    name = name_of(target)
    catalog = ctx.runtime.catalog
    exists = catalog.table_exists(name)
    if exists and tree.args.get("exists"):
        return Result.status(f"table {name} already exists", ctx.text)
    replace = bool(tree.args.get("replace"))
    if exists and not replace:
        raise SqlError(f"table {name!r} already exists (use CREATE TABLE IF NOT EXISTS or CREATE OR REPLACE)")
    if spec.location is not None:
        spec.location = check_location(ctx.runtime, spec.location)
    source = tree.args.get("expression")
    if source is None:
        if not isinstance(target, exp.Schema):
            raise SqlError("CREATE TABLE needs a column list or AS SELECT ...")
        schema = _columns(ctx, target.expressions, spec)
        if exists:
            return _replace(ctx, name, schema, spec, None)
        if spec.comment is not None:  # the description is metadata: a second commit sets it
            tx = catalog.create_table_and_commit(
                name,
                schema,
                _describe(spec, record=True),
                spec.partition_by,
                spec.properties or None,
                location=spec.location,
            )
            return Result.written(tx.version, 0, ctx.text)
        table = catalog.create_table(
            name, schema, spec.partition_by, spec.properties or None, location=spec.location
        )
        return Result.written(table.version, 0, ctx.text)
    check_params(ctx.params, source)
    plan = plan_query(ctx.runtime, source, ctx.params, cache=ctx.cache)
    with registered(ctx.runtime, plan.regs) as con:
        rows = reader(con, plan.sql, plan.params, source.sql(dialect="duckdb"), regs=plan.regs)
        schema = normalize_schema(rows.schema)
        if exists:
            return _replace(ctx, name, schema, spec, rows)

        def write(tx: Transaction) -> None:
            _describe(spec)(tx)
            tx.append(rows)
            tx.record("CREATE TABLE AS SELECT", {"partitionBy": json.dumps(spec.partition_by)})

        tx = catalog.create_table_and_commit(
            name, schema, write, spec.partition_by, spec.properties or None, location=spec.location
        )
    return Result.written(tx.version, tx.metrics.get("numOutputRows", 0), ctx.text)


def _replace(ctx: Context, name: str, schema: pa.Schema, spec: _Spec, rows) -> Result:
    """CREATE OR REPLACE of an existing table: new schema and contents as one new version."""
    table, snapshot = ctx.cache.get(name)  # the snapshot the source read, if it reads the table
    tx = Transaction(table, snapshot)
    tx.read_all()  # the new content replaces every row: a concurrent change conflicts
    tx.remove_files(snapshot.files)
    tx.change_metadata(
        schema=normalize_schema(schema), partition_by=spec.partition_by, properties=spec.properties
    )
    _describe(spec)(tx)
    if rows is not None:
        tx.append(rows)
    tx.record("CREATE OR REPLACE TABLE", {"partitionBy": json.dumps(spec.partition_by)})
    version = tx.commit()
    return Result.written(version, tx.metrics.get("numOutputRows", 0), ctx.text)


def _describe(spec: _Spec, *, record: bool = False):
    """A transaction step giving the table the CREATE statement's COMMENT as its description."""

    def step(tx: Transaction) -> None:
        metadata = tx.view().metadata
        if metadata.description != spec.comment:
            tx.set_metadata(metadata.replace(description=spec.comment))
        if record:
            tx.record("SET TABLE COMMENT", {"comment": json.dumps(spec.comment)})

    return step


# ---------------------------------------------------------------------------------------- DROP


@statement(exp.Drop)
def drop(ctx: Context) -> Result:
    tree = ctx.tree
    kind = str(tree.args.get("kind") or "").upper()
    catalog = ctx.runtime.catalog
    if_exists = bool(tree.args.get("exists"))
    nodes = tree.args.get("tables") or [tree.this]
    if kind in ("SCHEMA", "DATABASE"):
        from lakehouse.errors import NamespaceNotFound

        ns = namespace_of(nodes[0])
        try:
            catalog.drop_namespace(ns, cascade=bool(tree.args.get("cascade")), purge=True)
        except NamespaceNotFound:
            if if_exists:
                return Result.status(f"schema {ns} does not exist", ctx.text)
            raise SqlError(f"schema {ns!r} does not exist{_close(ns, catalog.list_namespaces())}") from None
        return Result.status(f"dropped schema {ns}", ctx.text)
    if kind == "VIEW":
        return views.drop_view(ctx, tree)
    if kind != "TABLE":
        raise SqlError(f"DROP {kind} is not supported: only DROP TABLE, DROP VIEW and DROP SCHEMA")
    dropped, missing = [], []
    for node in nodes:
        if views.drop_temp_table(ctx, node):
            continue
        name = name_of(node)
        if not catalog.table_exists(name):
            if if_exists:
                missing.append(name)
                continue
            from ..bind import unknown_table

            raise unknown_table(ctx.runtime, node, name)
        location = catalog.table_location(name)
        managed = catalog.is_inside_warehouse(location)
        # Like Spark: dropping a managed table deletes its files; an external one keeps them.
        catalog.drop_table(name, purge=managed or bool(tree.args.get("purge")))
        dropped.append(name)
    return Result.status(_dropped_message(dropped, missing), ctx.text)


def _dropped_message(dropped: list[str], missing: list[str]) -> str:
    """What DROP TABLE [IF EXISTS] did: only the tables it really dropped are called dropped."""
    parts = [f"dropped table {', '.join(dropped)}"] if dropped else []
    if missing:
        parts.append(f"table {', '.join(missing)} does not exist, nothing dropped")
    return "; ".join(parts)


def _close(name: str, candidates: list[str]) -> str:
    from lakehouse.errors import did_you_mean

    return did_you_mean(name, candidates)


# ---------------------------------------------------------------------------------------- ALTER


@statement(exp.Alter)
def alter(ctx: Context) -> Result:
    tree = ctx.tree
    if str(tree.args.get("kind") or "TABLE").upper() != "TABLE":
        raise SqlError(f"unsupported statement: {ctx.text[:60]!r}")
    name, table, _ = resolve_target(ctx, tree.this)
    actions = tree.args.get("actions") or []
    new_columns = []
    version = None
    for a in actions:
        if isinstance(a, exp.ColumnDef):
            new_columns.append(a)
        elif isinstance(a, exp.Schema):
            new_columns.extend(a.expressions)
        elif isinstance(a, exp.AddConstraint):
            for c in a.expressions:
                checks = [k for k in c.expressions if isinstance(k, exp.CheckColumnConstraint)]
                if not checks:
                    raise SqlError(f"only CHECK constraints can be added, not {c.sql(dialect='duckdb')!r}")
                version = table.add_constraint(c.name, checks[0].this.sql(dialect="duckdb"))
        elif isinstance(a, exp.Drop) and str(a.args.get("kind")).upper() == "CONSTRAINT":
            for t in a.args.get("tables") or []:
                version = table.drop_constraint(t.name, if_exists=bool(a.args.get("exists")))
        elif isinstance(a, exp.AlterRename):
            new = a.this
            if new.args.get("db") is None:
                new = exp.Table(this=new.this, db=exp.to_identifier(name.split(".")[0]))
            ctx.runtime.catalog.rename_table(name, name_of(new))
            return Result.status(f"renamed {name} to {name_of(new)}", ctx.text)
        elif isinstance(a, exp.AlterSet):
            props = {}
            for p in a.expressions:
                for q in p.expressions if isinstance(p, exp.Properties) else [p]:
                    props[q.name] = q.args["value"].name
            version = table.set_properties(props)
        elif (v := alter_columns(table, a)) is not None:
            version = v
        else:
            raise SqlError(
                f"unsupported ALTER TABLE action {a.sql(dialect='duckdb')!r}: supported are ADD COLUMN, "
                f"ADD CONSTRAINT ... CHECK, DROP CONSTRAINT, RENAME TO, RENAME COLUMN, DROP COLUMN, "
                f"SET TBLPROPERTIES"
            )
    if new_columns:
        version = _add_columns(ctx, name, new_columns)
    return Result.written(version, 0, ctx.text)


def _add_columns(ctx: Context, name: str, defs: list[exp.ColumnDef]) -> int:
    spec = _Spec()
    skip_existing = any(bool(d.args.get("exists")) for d in defs)
    for d in defs:
        for c in d.args.get("constraints") or []:
            if isinstance(c.args.get("kind"), exp.NotNullColumnConstraint):
                raise SchemaMismatch(
                    f"cannot add NOT NULL column {d.name!r}: existing rows have no value for it"
                )
    generated = (exp.GeneratedAsIdentityColumnConstraint, exp.ComputedColumnConstraint)
    computed_columns = [
        d.name
        for d in defs
        if any(isinstance(c.args.get("kind"), generated) for c in d.args.get("constraints") or [])
    ]
    if computed_columns:
        raise SqlError(
            f"cannot add generated or identity column(s) {computed_columns} to an existing table (its rows "
            f"have no values for them): create the table with them, or add a plain or DEFAULT column"
        )
    added = _columns(ctx, defs, spec)

    def run() -> int:
        table, snapshot = SnapshotCache(ctx.runtime).get(name)
        existing = {n.lower() for n in snapshot.schema.names}
        fresh = [f for f in added if f.name.lower() not in existing]
        dupes = [f.name for f in added if f.name.lower() in existing]
        if dupes and not skip_existing:
            raise SchemaMismatch(f"column(s) {dupes} already exist in {name}")
        tx = Transaction(table, snapshot)
        # DEFAULT metadata kept: it fills the column for new rows (existing rows read NULL, as in Delta)
        tx.change_metadata(schema=pa.schema([*snapshot.full_schema, *(f.with_nullable(True) for f in fresh)]))
        tx.record("ADD COLUMNS", {"columns": json.dumps([f.name for f in fresh])})
        return tx.commit()

    try:
        return with_retries(run)
    except TableNotFound:
        raise
