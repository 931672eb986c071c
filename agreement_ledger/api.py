"""The ledger as a Python object: what the ``ledger`` command does, for notebooks and scripts.

One ``Ledger`` opens one database (a URL, or a SQLite file path, like ``--db``)
and answers with the same JSON-shaped values the command prints with
``--format json``. The command line is a thin layer over this class: it parses
options, calls one method, and renders the result.

    from agreement_ledger import Ledger, Rejected
    with Ledger("sqlite:///treaties.db") as ledger:
        ledger.append([{...}, {...}])      # all or nothing
        ledger.show("tisa-2014")

A refused event raises ``Rejected`` (with ``.rule``, ``.agreement``,
``.where``), a storage problem ``StorageError``, a lost race ``WriteConflict``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO

from agreement_ledger.ledger.errors import InvalidArgument, StorageError, UnknownAgreement
from agreement_ledger.ledger.storage import ensure_schema, is_in_memory, normalise_url
from agreement_ledger.projections import store

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from agreement_ledger.ledger.application import AppendResult, Submission
    from agreement_ledger.ledger.application import Ledger as Application
    from agreement_ledger.projections.project import Projection
    from agreement_ledger.projections.projector import Projector

Progress = Callable[[int], None]


class Ledger:
    """An agreement ledger in one database, read and written through its rules."""

    def __init__(self, db: str | None = None, *, actor: str | None = None) -> None:
        self.url = normalise_url(db)
        if is_in_memory(self.url):
            raise InvalidArgument("an in-memory database keeps nothing; give a file or a URL")
        self.actor = actor
        self._projector: Projector | None = None
        self._engine: Engine | None = None
        self.replica: dict[str, Any] | None = None
        """On a read-only replica whose read models lag: how far, and what was recomputed."""
        self._recomputed: dict[str, Projection] = {}

    # -- life cycle ------------------------------------------------------------

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Let go of the database connections."""
        if self._projector is not None:
            self._projector.ledger.close()
            self._projector = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @property
    def projector(self) -> Projector:
        """The event store with its live projection attached (opened on first use)."""
        if self._projector is None:
            from agreement_ledger.ledger.application import Ledger as Application
            from agreement_ledger.projections.projector import Projector

            application = Application(self.url)
            self._projector = Projector(application).attach()
        return self._projector

    @property
    def application(self) -> Application:
        return self.projector.ledger

    def read_models(self) -> Engine:
        """A connection to read models that are current.

        The common case, read models already current, is checked with SQLAlchemy
        Core alone; only when they are behind is the event store opened to catch up.
        """
        if self._projector is not None:
            engine = self._projector.ledger.engine
            if self.replica is None:
                with engine.connect() as connection:
                    if store.read_only(connection):
                        self._answer_in_memory(connection)
                    else:
                        self._projector.catch_up()
            return engine
        if self._engine is None:
            from sqlalchemy import create_engine

            self._engine = create_engine(self.url)
            ensure_schema(self._engine)
        if self.replica is not None:
            return self._engine
        with self._engine.connect() as connection:
            if store.up_to_date(connection, datetime.now(UTC)):
                return self._engine
            if store.read_only(connection):
                self._answer_in_memory(connection)
                return self._engine
        self._engine.dispose()
        self._engine = None
        self.projector.catch_up()
        return self.projector.ledger.engine

    def _answer_in_memory(self, connection: Connection) -> None:
        """On a read-only replica whose read models lag the log, never write: project the
        agreements the read models are behind on (new events, time-based changes) in
        memory, with the same projection code, and say how far they lag."""
        from agreement_ledger.projections.project import project
        from agreement_ledger.projections.version import PROJECTION_VERSION

        now = datetime.now(UTC)
        position, newest = store.position(connection), store.head(connection)
        keys = set(store.stale(connection, now))
        if store.projection_version(connection) != PROJECTION_VERSION:
            keys |= {key for key in self.projector.keys_after(0)}
        else:
            keys |= self.projector.keys_after(position)
        for key in sorted(keys):
            projection = project(self.projector.stream(key), as_of=now)
            if projection is not None:
                self._recomputed[key] = projection.kept()
        self.replica = {
            "replica": True,
            "position": position,
            "head": newest,
            "behind": max(newest - position, 0),
            "recomputed": sorted(self._recomputed),
        }

    # -- writing ----------------------------------------------------------------

    def append(
        self, events: Iterable[Mapping[str, Any]], *, actor: str | None = None
    ) -> dict[str, list[str]]:
        """Check and write events (envelopes as on import), all or nothing.

        Returns the ids written and the ids skipped as exact repeats.
        """
        from agreement_ledger.ledger.application import Submission

        return self.submit([Submission(dict(event)) for event in events], actor=actor).as_json()

    def import_lines(self, data: bytes, *, actor: str | None = None) -> dict[str, list[str]]:
        """Import JSON Lines (an export, or events as written): all or nothing by line."""
        from agreement_ledger.ledger.application import json_lines

        result = self.application.append_from(
            lambda: json_lines(data.split(b"\n")),
            actor=actor or self.actor,
            expected=data.count(b"\n") + 1,
        )
        return result.as_json()

    def import_file(self, file: BinaryIO, *, actor: str | None = None) -> dict[str, list[str]]:
        """``import_lines`` from a binary file that can be read again from its start: the
        events are read as they are written, so memory does not grow with the file."""
        from agreement_ledger.ledger.application import BYTES_PER_LINE, file_lines, may_share

        # A file its checking processes could not each read from its start is not piped.
        expected = file.seek(0, os.SEEK_END) // BYTES_PER_LINE if may_share(file) else None
        return self.application.append_from(
            file_lines(file), actor=actor or self.actor, expected=expected
        ).as_json()

    def submit(
        self,
        submissions: list[Submission],
        *,
        actor: str | None = None,
        ignore_ledger_keys: bool = True,
    ) -> AppendResult:
        """Append prepared submissions (what ``append`` and ``import_lines`` call)."""
        return self.application.append(
            submissions, actor=actor or self.actor, ignore_ledger_keys=ignore_ledger_keys
        )

    # -- reading ----------------------------------------------------------------

    def agreements(self) -> list[dict[str, Any]]:
        """Every agreement with its status and counts of parties and flags."""
        with self.read_models().connect() as connection:
            rows = store.listing(connection)
        if not self._recomputed:
            return rows
        fresh = {key: _listing_row(p) for key, p in self._recomputed.items()}
        merged = {row["agreement"]: row for row in rows} | fresh
        return [merged[key] for key in sorted(merged)]

    def show(self, key: str) -> dict[str, Any]:
        """The current state of an agreement, as ``show --format json`` prints it."""
        with self.read_models().connect() as connection:
            state = store.show(connection, key)
        if key in self._recomputed:
            state = self._recomputed[key].show
        if state is not None and self.replica is not None:
            state = {**state, "read_models": self.replica}
        if state is None:
            raise UnknownAgreement(f"agreement {key!r} is not registered", agreement=key)
        return state

    def flags(
        self,
        key: str | None = None,
        code: str | None = None,
        party: str | None = None,
        severity: str | None = None,
    ) -> list[dict[str, Any]]:
        """Compliance flags, for one agreement or all, filtered as asked.

        An unknown code or severity, or a party no agreement has, is an
        ``InvalidArgument`` rather than an empty answer.
        """
        from agreement_ledger.projections.flags import check_filter

        check_filter(code, severity)
        with self.read_models().connect() as connection:
            if key is not None and store.show(connection, key) is None:
                raise UnknownAgreement(f"agreement {key!r} is not registered", agreement=key)
            if party is not None:
                _known_party(connection, party)
            rows = store.flag_rows(connection, key, code, party, severity)
        if not self._recomputed:
            return rows
        kept = [row for row in rows if row["agreement"] not in self._recomputed]
        for recomputed_key, projection in self._recomputed.items():
            kept += [
                row
                for row in projection.flag_rows
                if (key is None or recomputed_key == key)
                and (code is None or row["code"] == code)
                and (party is None or row["party"] == party)
                and (severity is None or row["severity"] == severity)
            ]
        return sorted(kept, key=lambda row: row["agreement"])

    def due(
        self,
        within: str = "P90D",
        party: str | None = None,
        now: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """The compliance calendar: what falls due from now to ``within`` (an ISO 8601
        duration) later, and what is overdue, soonest first; every agreement's, or those
        of one ``party`` (a party no agreement has is an ``InvalidArgument``)."""
        from agreement_ledger.projections.due import calendar

        with self.read_models().connect() as connection:
            if party is not None:
                _known_party(connection, party)
            found = {state["agreement"]: state for state in store.states(connection)}
        found |= {key: projection.show for key, projection in self._recomputed.items()}
        items = calendar(found.values(), now or datetime.now(UTC), within, party)
        return [item.as_json() for item in items]

    def timeline(self, key: str) -> list[dict[str, Any]]:
        """An agreement's events in world-time order, with precision and recording time:
        made from its stored events when asked, by the projection every read model comes
        from (no read model keeps it: see docs/decisions.md)."""
        from agreement_ledger.ledger.eventstore import UNREADABLE, damaged
        from agreement_ledger.projections.project import project

        projection = project(self.projector.stream(key), as_of=datetime.now(UTC))
        if projection is None:
            raise UnknownAgreement(f"agreement {key!r} is not registered", agreement=key)
        try:
            return projection.timeline
        except UNREADABLE as exc:  # a stored value the rules never wrote
            raise damaged(key, exc) from None

    def replay(
        self, key: str, as_of: str | None = None, known_at: str | None = None
    ) -> dict[str, Any]:
        """The state of an agreement as of a world time, as known at a ledger time."""
        from agreement_ledger.projections.audit import replay

        return replay(self.projector, key, as_of, known_at)

    def parties(
        self,
        key: str | None = None,
        *,
        party: str | None = None,
        as_of: str | None = None,
        known_at: str | None = None,
    ) -> list[dict[str, Any]]:
        """The status table: the party objects of ``show``, each with ``agreement`` added.

        One agreement's participants (``key``), or every agreement of one ``party``
        (one row per agreement); as of a world time and as known at a ledger time,
        like ``replay``.
        """
        keys = [key] if key is not None else self._agreements_of(party)
        rows: list[dict[str, Any]] = []
        for agreement in keys:
            timed = as_of is not None or known_at is not None
            state = self.replay(agreement, as_of, known_at) if timed else self.show(agreement)
            rows.extend(
                {"agreement": agreement, **entry}
                for entry in state["parties"]
                if party is None or entry["code"] == party
            )
        return rows

    def _agreements_of(self, party: str | None) -> list[str]:
        with self.read_models().connect() as connection:
            return store.agreements_of(connection, _known_party(connection, party))

    def history(self, key: str) -> list[dict[str, Any]]:
        """Every stored event of an agreement, as export records with ``corrected_by``."""
        return [stored.as_json() for stored in self.application.history(key)]

    def export(self, key: str | None = None) -> Iterator[dict[str, Any]]:
        """Every stored event (or one agreement's) as an export record, in order."""
        store_ = self.application.store
        records = store_.stream(key) if key is not None else store_.records()
        return (stored.as_json() for stored in records)

    # -- audit ------------------------------------------------------------------

    def verify(
        self,
        key: str | None = None,
        digest: Mapping[str, Any] | None = None,
        *,
        public_key: bytes | None = None,
    ) -> dict[str, Any]:
        """Re-check every hash chain (or one agreement's), optionally against a digest
        whose signature ``public_key`` (PEM) checks first."""
        document = dict(digest) if digest is not None else None
        if document is not None and public_key is not None:
            refused = _signature_refused(document, public_key)
            if refused is not None:
                return refused
        return self.application.verify(key, document).as_json()

    def digest(self, *, private_key: bytes | None = None) -> dict[str, Any]:
        """A digest of every stream head and the Merkle root of every event (``verified``
        false while the chains have problems), signed with ``private_key`` (PEM) if given."""
        from agreement_ledger.ledger.signing import load_private_key, sign

        key = load_private_key(private_key) if private_key is not None else None
        document = self.application.digest()
        return sign(document, key) if key is not None and document["verified"] else document

    def prove(self, key: str, event_id: str, *, tree_size: int | None = None) -> dict[str, Any]:
        """An inclusion proof of one event, for a digest of ``tree_size`` events (default:
        every event now): check it with ``verify_offline(digest, proof=…)``."""
        return self.application.prove(key, event_id, tree_size)

    def restore(self, data: bytes) -> int:
        """Load an export into this (empty) ledger keeping every event's provenance."""
        from agreement_ledger.ledger.application import read_export
        from agreement_ledger.projections.project import project

        now = datetime.now(UTC)
        return self.application.restore(
            read_export(data), readable=lambda stream: project(stream, as_of=now)
        )

    def audit(self) -> dict[str, Any]:
        """Rebuild the read models in scratch space and report any drift from the stored ones."""
        from agreement_ledger.projections.audit import audit

        with contextlib.suppress(StorageError):  # what cannot be read, the audit reports
            self.read_models()
        if self.replica is None:
            return audit(self.projector).as_json()
        result = audit(self.projector, catch_up=False, skip=set(self._recomputed)).as_json()
        return {**result, "read_models": self.replica}

    def rebuild(self, progress: Progress | None = None) -> int:
        """Drop the read models and rebuild them from the log; returns the agreements rebuilt."""
        return self.projector.rebuild(progress=progress)

    def site(
        self, directory: str | Path, *, within: str = "P90D", now: datetime | None = None
    ) -> dict[str, Any]:
        """Write the whole register as a static site into ``directory``: the index (what
        falls due ``within`` from ``now``, the verification, every agreement), a page per
        agreement (its report), per party, the flags and the digest."""
        from agreement_ledger.ledger.worldtime import as_utc_text
        from agreement_ledger.projections.report import render_report
        from agreement_ledger.projections.site import Register, write_site

        when = now or datetime.now(UTC)
        register = Register(
            states=[self.show(row["agreement"]) for row in self.agreements()],
            flags=self.flags(),
            due=self.due(within, now=when),
            within=within,
            verification=self.verify(),
            digest=self.digest(),
            generated=as_utc_text(when),
            report=lambda key: render_report(self.projector, key, site_root="../"),
        )
        written = write_site(Path(directory), register)
        return {
            "directory": str(written.directory),
            "agreements": written.agreements,
            "parties": written.parties,
            "pages": len(written.pages),
        }

    def report(self, key: str, as_of: str | None = None, known_at: str | None = None) -> str:
        """A self-contained HTML page: state, timeline, flags, history, verification."""
        from agreement_ledger.projections.report import render_report

        return render_report(self.projector, key, as_of, known_at)


def verify_offline(
    digest: Mapping[str, Any] | None,
    *,
    export: bytes | None = None,
    proof: Any = None,
    public_key: bytes | None = None,
) -> dict[str, Any]:
    """Check files with no database: an export's chains (and heads against ``digest``), or an
    inclusion ``proof`` against ``digest``; the digest's signature first, given a key."""
    from agreement_ledger.ledger.application import read_export
    from agreement_ledger.ledger.verification import check_export, check_proof

    document = dict(digest) if digest is not None else None
    if document is not None and public_key is not None:
        refused = _signature_refused(document, public_key)
        if refused is not None:
            return refused
    if proof is not None:
        return check_proof(proof, document or {}).as_json()
    return check_export(read_export(export or b""), document).as_json()


def _signature_refused(document: dict[str, Any], public_key: bytes) -> dict[str, Any] | None:
    """A verification result naming why the digest's signature fails, or ``None``."""
    from agreement_ledger.ledger.signing import load_public_key, signature_problem

    problem = signature_problem(document, load_public_key(public_key))
    if problem is None:
        return None
    return {
        "ok": False,
        "events_checked": 0,
        "problems": [{"agreement": "(digest)", "version": None, "problem": problem}],
    }


def _known_party(connection: Connection, party: str | None) -> str:
    """``party``, which some agreement has, or an ``InvalidArgument`` (not an empty answer)."""
    if party is None or not store.has_party(connection, party):
        raise InvalidArgument(f"no agreement has a party {party!r}")
    return party


def _listing_row(projection: Projection) -> dict[str, Any]:
    """A ``list`` row of a projection computed in memory (as ``store.listing`` reads one)."""
    show = projection.show
    return {
        "agreement": projection.key,
        "title": show["title"],
        "kind": show["kind"],
        "status": show["status"],
        "parties": len(show["parties"]),
        "flags": len(projection.flags),
    }
