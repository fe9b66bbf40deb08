"""Certificate benchmark: issuance end to end against a raw render plus a raw signature.

One command:

    .venv/bin/python bench/certificates.py                # SQLite, 15 pairs, 100 in a batch
    .venv/bin/python bench/certificates.py --pairs 31     # steadier on a busy machine

It builds a SQLite database with granted decisions (through the real verbs, as the tests do) and
demo council keys, then measures, in the same process and run:
1. issuance end to end (allocate, lint, render, sign, store, events; `issue_certificate`)
   against the sum of a raw WeasyPrint render of the same HTML (PDF/A-3b, with the same
   attachments and one font configuration kept, as the app keeps one) and a raw pyHanko
   signature of that PDF, in pairs whose order alternates (target ratio <= 1.25);
2. 100 certificates issued in a batch as `council certificates issue` does it, numbers in order
   and PDFs rendered by one worker process per core (target <= 10 s), and one after another;
3. the memory growth of the process from the 50th to the 500th render (target < 5 MiB).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import weasyprint
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import core.pdf  # noqa: E402
from core.db import make_engine, make_sessionmaker  # noqa: E402
from core.schema import upgrade_database  # noqa: E402
from core.signing import CouncilKeys, init_keys, sign_pdf  # noqa: E402
from core.storage import FileStore  # noqa: E402
from quality_marks import certificate_pdf, certificates  # noqa: E402
from quality_marks.certificate_batch import BatchTerms, issue_in_batch  # noqa: E402
from quality_marks.certificate_models import (  # noqa: E402
    Certificate,
    CertificateStatus,
    RegistryEvent,
)
from tests.quality_marks.certificate_builders import decision_of, granted  # noqa: E402
from tests.quality_marks.certificate_issuance import (  # noqa: E402
    ISSUED_AT,
    PREFIX,
    another_granted,
)

BASE_URL = "http://testserver"


def ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def rss_mib() -> float:
    """The process's resident memory now, in MiB (from /proc, Linux)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 1024 / 1024


def seed(url: str, count: int) -> list[int]:
    """Granted decisions through the real verbs (one guideline version, one council)."""
    engine = make_engine(url)
    with make_sessionmaker(engine)() as db:
        first = granted(db)
        cases = [first] + [another_granted(db, first) for _ in range(count - 1)]
        ids = [decision_of(db, case).id for case in cases]
        db.commit()
    engine.dispose()
    return ids


def reopen(factory: sessionmaker[Session]) -> None:
    """Forget every certificate (this benchmark's database only), so the decisions are issued
    again as if for the first time; the service itself never issues a decision twice."""
    with factory() as db:
        db.execute(delete(RegistryEvent))
        db.execute(delete(Certificate))
        db.commit()


def main() -> None:
    """Build, measure, print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pairs", type=int, default=15)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--renders", type=int, default=500)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-certificates-"))
    try:
        url = f"sqlite:///{workdir / 'bench.db'}"
        upgrade_database(url)
        keys: CouncilKeys = init_keys(
            workdir / "keys", council_name="Consejo de Ética de la IA", now=dt.datetime.now(dt.UTC)
        )
        started = time.perf_counter()
        decisions = seed(url, args.batch)
        print(f"seeded {len(decisions)} granted decisions in {ms(started) / 1000:.1f} s")
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        store = FileStore(workdir / "files")

        def issue(decision_id: int) -> Certificate:
            return certificates.issue_certificate(
                factory,
                decision_id=decision_id,
                keys=keys,
                store=store,
                base_url=BASE_URL,
                prefix=PREFIX,
                actor_id=None,
                now=ISSUED_AT,
            )

        sample = issue(decisions[0])  # warm: templates, fonts, keys
        assert sample.status == CertificateStatus.valid, sample.void_reason
        payload: dict[str, Any] = dict(sample.payload)
        credential = sample.credential or ""
        html = certificate_pdf.certificate_html(payload)
        fonts = core.pdf.font_configuration()

        def raw() -> float:
            started = time.perf_counter()
            # Attachments are read once each: new ones per render, as the app makes them.
            attachments = [
                weasyprint.Attachment(string=credential.encode(), name="credential.jwt"),
                weasyprint.Attachment(string=credential.encode(), name="credential.json"),
            ]
            pdf = weasyprint.HTML(string=html).write_pdf(
                font_config=fonts, pdf_tags=True, pdf_variant="pdf/a-3b", attachments=attachments
            )
            sign_pdf(keys, pdf, reason=certificate_pdf.PDF_REASON, location="Ciudad de México")
            return ms(started)

        def end_to_end() -> float:
            reopen(factory)
            started = time.perf_counter()
            done = issue(decisions[0])
            elapsed = ms(started)
            assert done.status == CertificateStatus.valid
            return elapsed

        raw()
        raw_times, app_times = [], []
        for index in range(args.pairs):
            if index % 2:
                raw_times.append(raw())
                app_times.append(end_to_end())
            else:
                app_times.append(end_to_end())
                raw_times.append(raw())
        ratios = sorted(a / r for a, r in zip(app_times, raw_times, strict=True))
        app_ms, raw_ms = statistics.median(app_times), statistics.median(raw_times)

        reopen(factory)
        started = time.perf_counter()
        for decision_id in decisions[: args.batch]:
            issue(decision_id)
        one_by_one_s = ms(started) / 1000
        reopen(factory)
        terms = BatchTerms(
            database_url=url,
            keys_dir=keys.directory,
            storage_dir=workdir / "files",
            base_url=BASE_URL,
            prefix=PREFIX,
            now=ISSUED_AT,
        )
        started = time.perf_counter()
        outcomes = issue_in_batch(decisions[: args.batch], terms=terms)
        batch_s = ms(started) / 1000
        assert [o.status for o in outcomes] == ["valid"] * args.batch, outcomes[:3]

        gc.collect()
        before = 0.0
        for index in range(1, args.renders + 1):
            certificate_pdf.render_certificate(payload, credential)
            if index == 50:
                gc.collect()
                before = rss_mib()
        gc.collect()
        growth = rss_mib() - before
        engine.dispose()

        print(f"certificate PDF ({sample.pdf_size or 0} bytes signed), median of {args.pairs}:")
        print(f"  issue end to end       {app_ms:8.1f} ms   (allocate, lint, render, sign, store)")
        print(f"  raw render + signature {raw_ms:8.1f} ms   (WeasyPrint PDF/A-3b + pyHanko)")
        print(
            f"  end to end / raw       {app_ms / raw_ms:8.2f}      (medians' ratio; target <= 1.25)"
        )
        quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
        print(
            f"  pair ratios            {statistics.median(ratios):8.2f}      (median of "
            f"{len(ratios)} pairs; quartiles {quartiles[0]:.2f}-{quartiles[2]:.2f})"
        )
        print(
            f"batch of {args.batch} certificates  {batch_s:8.2f} s    "
            f"(`council certificates issue`: {os.cpu_count()} worker processes; target <= 10 s)"
        )
        print(
            f"  one after another        {one_by_one_s:8.2f} s    "
            f"({one_by_one_s * 1000 / args.batch:.0f} ms each, in one process)"
        )
        print(
            f"memory, render 50 -> {args.renders}   {growth:+8.2f} MiB  (resident; target < 5 MiB)"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
