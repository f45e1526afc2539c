"""Train a logistic regression with PyTorch straight from a table version, and log that version.

python examples/ml_train.py [WAREHOUSE_DIR]

The loader reads one pinned version (later appends do not change it), shards it over DataLoader
workers, shuffles from (seed, epoch), and its state can be saved mid-epoch and resumed elsewhere.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa

from engine.ml import iter_batches
from lakehouse import Table


def make_table(uri: Path) -> Table:
    """Two Gaussian blobs: y = 1 when w . x + b > 0 (plus label noise)."""
    shutil.rmtree(uri, ignore_errors=True)  # the demo starts from scratch each run
    rng = np.random.default_rng(42)
    w, b = np.array([1.5, -2.0, 0.5, 1.0], dtype=np.float32), 0.25
    schema = pa.schema(
        [(f"f{i}", pa.float32()) for i in range(4)] + [("y", pa.float32()), ("split", pa.string())]
    )
    table = Table.create(str(uri), schema, partition_by=["split"])
    for _ in range(4):  # four appends -> several files to shard over
        x = rng.standard_normal((25_000, 4), dtype=np.float32)
        y = ((x @ w + b + 0.3 * rng.standard_normal(25_000)) > 0).astype(np.float32)
        split = np.where(rng.random(25_000) < 0.8, "train", "test")
        cols = {f"f{i}": x[:, i] for i in range(4)}
        table.append(pa.table({**cols, "y": y, "split": split}, schema=schema))
    return table


def main(warehouse: str = "./warehouse") -> None:
    table = make_table(Path(warehouse) / "examples" / "blobs")
    snapshot = table.snapshot()  # pin the version: everything below reads exactly this one
    first = next(iter_batches(snapshot, columns=["f0", "y"], batch_size=3))  # numpy, no torch needed
    print(f"table {table.uri} version {snapshot.version}; first rows: f0={first['f0']}, y={first['y']}")
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed (pip install 'lakehouse[torch]'): skipping the training part")
        print("done")
        return
    from engine.ml import to_torch

    torch.manual_seed(0)
    train = to_torch(
        snapshot,
        features="f*",
        label="y",
        where="split = 'train'",
        batch_size=512,
        seed=7,
        table_name="examples.blobs",
    )
    print(
        f"training on {train.table_name} version {train.version} where {train.where!r}: {train.num_rows} rows"
    )
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    loader = train.loader(num_workers=2)  # workers decode big blocks; batches are cut here
    for epoch in range(3):
        train.set_epoch(epoch)
        total, n = 0.0, 0
        for x, y in loader:
            opt.zero_grad()
            loss = loss_fn(model(x).squeeze(1), y)
            loss.backward()
            opt.step()
            total, n = total + loss.item() * len(x), n + len(x)
        print(f"epoch {epoch}: loss {total / n:.4f} over {n} rows")
        if epoch == 1:
            state = loader.state_dict()  # save with the model checkpoint to resume mid-epoch
            print(
                f"  loader state: epoch {state['epoch']}, {state['batches']} batches, version {state['version']}"
            )

    extra_row = {f"f{i}": [9.0] for i in range(4)} | {"y": [1.0], "split": ["test"]}
    table.append(pa.table(extra_row, schema=table.snapshot().schema))  # a new version; `test` stays pinned
    test = to_torch(
        snapshot, features="f*", label="y", where="split = 'test'", batch_size=4096, shuffle=False
    )
    correct = n = 0
    with torch.no_grad():
        for x, y in test:
            correct += int(((model(x).squeeze(1) > 0).float() == y).sum())
            n += len(x)
    print(
        f"test accuracy {correct / n:.3f} on {n} rows of version {test.version} (the table is now at {table.version})"
    )
    print("done")


if __name__ == "__main__":
    main(*sys.argv[1:])
