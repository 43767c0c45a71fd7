"""Registry files as banks send them (``tests.finance.bank_files``): each kind is read as
its profile says, and reconciles with the scenario's expected classes."""
from __future__ import annotations

import pandas as pd

from core.finance.bank_registry import read_registry
from tests.finance import bank_files as bf


def test_the_generator_writes_every_kind(tmp_path):
    assert bf.main([str(tmp_path)]) == 0
    written = {p.name for p in tmp_path.iterdir()}
    assert written == {f.file_name for f in bf.all_files(bf.sample_lines()).values()}
    assert (tmp_path / "reestr.xlsx").read_bytes().startswith(b"PK")


def test_the_banks_commission_and_net_are_read_in_kopecks():
    lines = bf.sample_lines(10)
    text = bf.ours_crlf(lines).decode().split("\r\n")
    text[0] += ";Комиссия;К перечислению"
    for n, line in enumerate(lines, start=1):
        fee = bf.fee_of(line)
        text[n] += f";{fee // 100},{fee % 100:02d};" + bf._rubles(line.amount_kopecks - fee)
    registry = read_registry("fee.csv", "\r\n".join(text).encode())
    assert registry.accepted, registry.problems
    assert registry.lines["fee"].dtype == "Int64" and registry.lines["net"].dtype == "Int64"
    assert registry.lines["fee"].tolist() == [bf.fee_of(x) for x in lines]
    assert registry.lines["net"].tolist() == [x.amount_kopecks - bf.fee_of(x) for x in lines]
    plain = read_registry("plain.csv", bf.ours_crlf(lines))
    assert plain.lines["fee"].isna().all() and plain.lines["net"].isna().all()
    assert plain.lines["fee"].dtype == "Int64"
    pd.testing.assert_frame_equal(plain.lines.drop(columns=["fee", "net"]),
                                  registry.lines.drop(columns=["fee", "net"]))
