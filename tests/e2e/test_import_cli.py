"""`python -m bot import-dossiers` and `api-keys` as an operator runs them, in subprocesses."""

from __future__ import annotations

import csv
import hashlib
import sqlite3
from pathlib import Path

from tests.tools.cli import run_cli

HEADER = [
    "dossierNo",
    "procedureCode",
    "agencyName",
    "applicantName",
    "phone",
    "acceptedDate",
    "appointmentDate",
    "dossierStatusName",
    "status_at",
]


def query(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp_path / "bot.sqlite3") as conn:
        return conn.execute(sql).fetchall()


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ",") -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, delimiter=delimiter)
        writer.writerow(HEADER)
        writer.writerows(rows)


def row(n: int, status: str = "Đang xử lý", status_at: str = "16/03/2026 09:00") -> list[str]:
    return [
        f"000.00.17.H12-260315-{n:04d}",
        "1.001193",
        "UBND Quận 1",
        "Nguyễn Văn An",
        "0912 345 678",
        "15/03/2026 08:30",
        "20/03/2026 17:00",
        status,
        status_at,
    ]


def test_import_igate_csv_with_bad_rows_then_reimport_then_a_later_status(tmp_path: Path) -> None:
    path = tmp_path / "igate.csv"
    rows = [row(n) for n in range(1, 6)]
    rows.insert(2, ["000.00.17.H12-260315-0099", "", "UBND Quận 1", "", "09ab", "", "", "?", ""])
    rows.append(["", "", "", "", "", "", "", "", ""])  # blank line of separators
    rows.append(row(6, status_at="2026-02-30"))
    write_csv(path, rows, delimiter=";")

    result = run_cli(tmp_path, "import-dossiers", str(path))
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        "line 4: applicant_phone must be digits only; unknown status: '?'",
        "line 8: receipt_code is missing; agency is missing; status is missing",
        "line 9: status_at: not a date/time: '2026-02-30'",
    ]
    assert "8 read, 5 inserted, 0 updated, 0 unchanged, 3 rejected" in result.stdout
    assert query(tmp_path, "SELECT receipt_code, status, applicant_phone, source FROM dossiers "
                           "ORDER BY id LIMIT 1") == [
        ("000.00.17.H12-260315-0001", 4, "0912345678", "file:igate.csv")
    ]  # fmt: skip
    assert query(tmp_path, "SELECT status_at FROM dossier_events ORDER BY id LIMIT 1") == [
        ("2026-03-16 02:00:00.000000",)  # 09:00 in Hanoi, stored as UTC
    ]

    again = run_cli(tmp_path, "import-dossiers", str(path), "--source", "nightly", "--batch", "2")
    assert again.returncode == 1
    assert "0 inserted, 0 updated, 5 unchanged, 3 rejected" in again.stdout
    assert query(tmp_path, "SELECT count(*), min(source) FROM dossiers") == [(5, "file:igate.csv")]

    later = tmp_path / "later.jsonl"
    later.write_text(
        '{"dossierNo": "000.00.17.H12-260315-0001", "agencyName": "UBND Quận 1", '
        '"dossierStatusName": "Đã trả kết quả", "returnedDate": "2026-03-19T16:00:00+07:00"}\n',
        encoding="utf-8",
    )
    result = run_cli(tmp_path, "import-dossiers", str(later))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "1 read, 0 inserted, 1 updated, 0 unchanged, 0 rejected" in result.stdout
    assert query(
        tmp_path,
        "SELECT e.status FROM dossier_events e JOIN dossiers d ON d.id = e.dossier_id "
        "WHERE d.lookup_key = '0000017H122603150001' ORDER BY e.status_at",
    ) == [(4,), (10,)]


def test_many_bad_rows_are_capped_and_a_big_file_loads_in_parallel(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    rows = [row(n % 10000, status_at=f"{1 + n % 28:02d}/03/2026 09:00") for n in range(1, 30001)]
    rows += [row(n, status="không rõ") for n in range(150)]
    write_csv(path, rows)
    assert path.stat().st_size > 4_000_000  # over PARALLEL_MIN_BYTES: a parser process runs
    result = run_cli(tmp_path, "import-dossiers", str(path))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 101
    assert lines[0] == "line 30002: unknown status: 'không rõ'"
    assert lines[-1] == "... and 50 more rejected rows"
    assert "30150 read, 10000 inserted" in result.stdout
    assert query(tmp_path, "SELECT count(*) FROM dossiers") == [(10000,)]
    assert query(tmp_path, "SELECT count(*) FROM dossier_events") == [(30000,)]  # 3 times each


def test_wrong_files_exit_2_without_touching_the_database(tmp_path: Path) -> None:
    xlsx = tmp_path / "export.xlsx"
    xlsx.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    result = run_cli(tmp_path, "import-dossiers", str(xlsx))
    assert result.returncode == 2
    assert "XLSX" in result.stderr and "CSV" in result.stderr
    assert not (tmp_path / "bot.sqlite3").exists()

    result = run_cli(tmp_path, "import-dossiers", str(tmp_path / "missing.csv"))
    assert result.returncode == 2 and "is not a file" in result.stderr


def test_api_keys_are_printed_once_and_never_listed(tmp_path: Path) -> None:
    created = run_cli(tmp_path, "api-keys", "create", "UBND Quận 1", "--label", "iGate")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("vnd_") and len(key) > 40
    assert "cannot be shown again" in created.stderr

    listed = run_cli(tmp_path, "api-keys", "list")
    assert listed.returncode == 0
    assert key[:12] in listed.stdout and key not in listed.stdout
    assert "UBND Quận 1" in listed.stdout and "active" in listed.stdout

    revoked = run_cli(tmp_path, "api-keys", "revoke", key[:12])
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert run_cli(tmp_path, "api-keys", "revoke", key[:12]).returncode == 1
    assert "revoked" in run_cli(tmp_path, "api-keys", "list").stdout
    assert query(tmp_path, "SELECT key_hash FROM api_keys") == [
        (hashlib.sha256(key.encode()).hexdigest(),)  # only the hash is stored
    ]


def test_codes_the_chat_cannot_find_load_with_one_warning_and_reimport_is_idempotent(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mixed.csv"
    rows = [row(1, status="Được tiếp nhận", status_at="")]
    rows += [
        [f"HS-2026-{n:06d}", "1.001193", "UBND Quận 1", "", "", "15/03/2026 08:30", "", "2", ""]
        for n in range(12)
    ]  # lines 3-14: never found by the chat
    rows.append(row(1, status="Đang xử lý", status_at=""))  # no time: line 15
    rows.append(row(1, status="Chờ bổ sung hồ sơ", status_at=""))
    rows[0][4] = "0912345678 / 0987654321"
    write_csv(path, rows)

    result = run_cli(tmp_path, "import-dossiers", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "warning: 12 codes cannot be typed into the chat as they are: "
        "lines 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, ..."
    ]
    assert "15 read, 13 inserted" in result.stdout
    assert query(tmp_path, "SELECT applicant_phone FROM dossiers ORDER BY id LIMIT 1") == [
        ("0912345678",)
    ]
    events = "SELECT count(*) FROM dossier_events"
    assert query(tmp_path, events) == [(15,)]

    again = run_cli(tmp_path, "import-dossiers", str(path))
    assert again.returncode == 0, again.stderr
    assert "0 inserted, 0 updated, 13 unchanged, 0 rejected; 0 history entries" in again.stdout
    assert query(tmp_path, events) == [(15,)]


def test_outbox_command_counts_messages_by_state(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "migrate").returncode == 0
    with sqlite3.connect(tmp_path / "bot.sqlite3") as conn:
        for i, state in enumerate(("pending", "pending", "sent", "uncertain")):
            conn.execute(
                "INSERT INTO outbox (channel, chat_id, kind, payload, state, attempts, "
                "available_at, created_at) VALUES ('telegram', ?, 'text', '{}', ?, 0, "
                "'2026-11-25 00:00:00', '2026-11-25 00:00:00')",
                (str(i), state),
            )
    result = run_cli(tmp_path, "outbox")
    assert result.returncode == 0, result.stderr
    counts = dict(line.split() for line in result.stdout.splitlines() if len(line.split()) == 2)
    assert counts == {"pending": "2", "sending": "0", "sent": "1", "failed": "0", "uncertain": "1"}
    assert "not sent again" in result.stdout
