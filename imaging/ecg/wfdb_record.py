"""MIT/WFDB records, read with the `wfdb` package. A record is a `.hea` header plus its `.dat` signal
file, so it arrives as one ZIP archive holding both; the header names the signal file it reads."""

from __future__ import annotations

import tempfile
import zipfile
from io import BytesIO
from pathlib import Path, PurePosixPath

import numpy as np
import wfdb

from imaging.ecg.record import EcgRecord, InvalidEcg, assemble

MAX_MEMBER_BYTES = 64 << 20
_MICROVOLTS_PER = {"uv": 1.0, "mv": 1000.0, "v": 1_000_000.0}


def _extract(data: bytes, folder: Path) -> str:
    """Unpack the archive's flat files into `folder` (no paths, no oversized members); the record name."""
    try:
        archive = zipfile.ZipFile(BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
        headers = [m for m in members if m.filename.lower().endswith(".hea")]
        if len(headers) != 1:
            raise InvalidEcg(
                f"a WFDB upload is one ZIP archive holding one record's .hea and .dat; found {len(headers)} .hea"
            )
        for member in members:
            name = PurePosixPath(member.filename.replace("\\", "/")).name
            if member.file_size > MAX_MEMBER_BYTES:
                raise InvalidEcg(f"{name} in the ZIP archive is larger than {MAX_MEMBER_BYTES} bytes")
            (folder / name).write_bytes(archive.read(member))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise InvalidEcg(f"the ZIP archive cannot be read: {exc}") from None
    return PurePosixPath(headers[0].filename.replace("\\", "/")).name[: -len(".hea")]


def read_wfdb_zip(data: bytes) -> EcgRecord:
    with tempfile.TemporaryDirectory(prefix="telemed-wfdb-") as folder:
        name = _extract(data, Path(folder))
        try:
            header = wfdb.rdheader(str(Path(folder) / name))
            for signal_file in header.file_name or []:
                # The header names its signal files; only plain names of files in the archive are read.
                if (
                    PurePosixPath(signal_file).name != signal_file
                    or not (Path(folder) / signal_file).is_file()
                ):
                    raise InvalidEcg(f"the header names signal file {signal_file!r}, which the ZIP lacks")
            record = wfdb.rdrecord(str(Path(folder) / name), physical=True)
        except (ValueError, OSError, IndexError, KeyError, TypeError) as exc:
            raise InvalidEcg(f"the WFDB record cannot be read: {exc}") from None
    if record.p_signal is None or not record.sig_name:
        raise InvalidEcg("the WFDB record holds no signals")
    rows = []
    for index, unit in enumerate(record.units):
        factor = _MICROVOLTS_PER.get(str(unit).strip().lower())
        if factor is None:
            raise InvalidEcg(f"signal {record.sig_name[index]} is in {unit!r}, not a voltage")
        rows.append(np.nan_to_num(record.p_signal[:, index]) * factor)
    acquired = None
    if record.base_date is not None and record.base_time is not None:
        acquired = f"{record.base_date.isoformat()}T{record.base_time.isoformat()}"
    return assemble(list(record.sig_name), rows, float(record.fs), "wfdb", acquired_at=acquired)
