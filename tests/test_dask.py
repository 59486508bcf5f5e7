"""A cluster when one machine is not enough (issue #14): a local Dask cluster of processes
maps ``folders.read_partition`` over partitions of the files, and gets what one process gets."""

import pytest

from handwriting.folders import expand, read_all, read_partition
from handwriting.imaging.synthetic import render

distributed = pytest.importorskip(
    "distributed", reason="the dask extra is not installed: pip install '.[dask]'"
)
bag = pytest.importorskip("dask.bag")


def test_a_local_cluster_of_processes_reads_what_one_process_reads(tmp_path):
    for i in range(24):
        render(f"{i % 10}{(7 * i) % 10}", height=50).save(tmp_path / f"p{i:02d}.png")
    (tmp_path / "broken.png").write_bytes(b"not a picture")
    files = expand([str(tmp_path)])
    alone = [
        {"file": f, "error": str(r)} if isinstance(r, Exception) else {"file": f, **r.as_dict()}
        for f, r in read_all(files, None, 1, 0.5, 1)
    ]
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        records = bag.from_sequence(files, partition_size=8).map_partitions(read_partition).compute()
    assert sorted(records, key=lambda r: r["file"]) == sorted(alone, key=lambda r: r["file"])
    assert sum("error" in r for r in records) == 1 and len(records) == 25
