"""Trust beyond one database: restore with provenance, offline and signed verification,
inclusion proofs — as an auditor, a journalist and a second office would use them."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import rfc8785
from typer.testing import CliRunner

from agreement_ledger.cli.main import app
from agreement_ledger.ledger import merkle
from agreement_ledger.ledger.chain import UNHASHED_KEYS, canonical_bytes
from tests.conftest import EXAMPLE, count_events

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HISTORIES = FIXTURES / "histories"


def run(*args: str, input: bytes | None = None):
    return CliRunner().invoke(app, list(args), input=input)


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture
def original(cli, tmp_path):
    """A ledger with several agreements, its signed digest, its export and its key pair."""
    assert cli("import", str(EXAMPLE)).exit_code == 0
    for name in ("open-skies-us-withdrawal", "czechoslovak-succession"):
        assert cli("import", str(HISTORIES / f"{name}.jsonl")).exit_code == 0
    key = tmp_path / "office.key"
    assert cli("keygen", str(key)).exit_code == 0
    digest = tmp_path / "heads.json"
    assert cli("digest", "-o", str(digest), "--sign", str(key)).exit_code == 0
    export = tmp_path / "backup.jsonl"
    export.write_text(cli("export").stdout, encoding="utf-8")
    return cli, digest, export, key


# -- restore with provenance ------------------------------------------------------------


def test_a_restored_copy_passes_the_original_digest_and_answers_known_at_alike(original, new_db):
    cli, digest, export, key = original
    copy = new_db()
    restored = run("--db", copy, "import", "--restore", str(export))
    assert restored.stdout == f"restored {count_events(copy)} events with their provenance\n"
    verified = run("--db", copy, "verify", "--digest", str(digest), "--key", f"{key}.pub")
    assert verified.exit_code == 0, verified.output
    original_history = json.loads(
        "[" + ",".join(cli("history", "tisa-2014", "--format", "json").stdout.splitlines()) + "]"
    )
    copy_history = json.loads(
        "["
        + ",".join(
            run("--db", copy, "history", "tisa-2014", "--format", "json").stdout.splitlines()
        )
        + "]"
    )
    strip = lambda r: {k: v for k, v in r.items() if k != "seq"}  # noqa: E731
    assert [strip(r) for r in copy_history] == [strip(r) for r in original_history]
    moment = original_history[5]["recorded_at"]
    for db in (None, copy):
        prefix = ["--db", db] if db else []
        answer = (
            run(*prefix, "replay", "tisa-2014", "--known-at", moment, "--format", "json")
            if db
            else cli("replay", "tisa-2014", "--known-at", moment, "--format", "json")
        )
        assert answer.exit_code == 0, answer.output
        assert json.loads(answer.stdout)["version"] == 6
    assert (
        run("--db", copy, "show", "open-skies-1992", "--format", "json").stdout
        == cli("show", "open-skies-1992", "--format", "json").stdout
    )


def test_a_restore_goes_only_into_an_empty_ledger(original, db_url):
    cli, _, export, _ = original
    before = count_events(db_url)
    result = cli("import", "--restore", str(export))
    assert result.exit_code == 2 and "empty ledger" in result.stderr
    assert count_events(db_url) == before


@pytest.mark.parametrize("damage", ["edit", "drop", "swap"])
def test_a_broken_chain_is_refused_and_nothing_is_restored(original, new_db, tmp_path, damage):
    _, _, export, _ = original
    lines = export.read_text(encoding="utf-8").splitlines()
    if damage == "edit":
        lines[3] = lines[3].replace('"occurred": "2014', '"occurred": "2013', 1)
    elif damage == "drop":
        del lines[4]
    else:
        lines[4], lines[5] = lines[5], lines[4]
        for n in (4, 5):  # swap the versions too, so only the chain tells
            record = json.loads(lines[n])
            record["version"] = 5 if n == 4 else 6
            lines[n] = json.dumps(record, ensure_ascii=False)
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    copy = new_db()
    result = run("--db", copy, "import", "--restore", str(broken))
    assert result.exit_code == 1, result.output
    assert (
        result.stderr.startswith("Error: tisa-2014, version ")
        and "nothing restored" in result.stderr
    )
    assert count_events(copy) == 0


def test_the_ordinary_import_of_an_export_keeps_its_meaning(original, new_db):
    cli, digest, export, _ = original
    copy = new_db()
    assert run("--db", copy, "import", str(export)).exit_code == 0
    history = run("--db", copy, "history", "tisa-2014", "--format", "json").stdout.splitlines()
    original_history = cli("history", "tisa-2014", "--format", "json").stdout.splitlines()
    assert json.loads(history[0])["recorded_at"] != json.loads(original_history[0])["recorded_at"]
    assert run("--db", copy, "verify", "--digest", str(digest)).exit_code == 1  # re-stamped


# -- offline verification ------------------------------------------------------------------


def test_an_export_verifies_with_no_database(original, tmp_path, monkeypatch):
    _, digest, export, key = original
    monkeypatch.chdir(tmp_path)
    result = run("verify", "--file", str(export), "--digest", str(digest), "--key", f"{key}.pub")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "ledger.db").exists()  # no database was opened or made


@pytest.mark.parametrize(
    ("damage", "finding"),
    [
        ("edit", "content does not match its hash"),
        ("drop-middle", "missing event(s)"),
        ("drop-last", "stream truncated"),
    ],
)
def test_a_damaged_export_is_found_offline(original, tmp_path, damage, finding):
    _, digest, export, _ = original
    records = lines_of(export)
    tisa = [n for n, r in enumerate(records) if r["agreement"] == "tisa-2014"]
    if damage == "edit":
        records[tisa[4]]["note"] = "changed"
    elif damage == "drop-middle":
        del records[tisa[4]]
    else:
        del records[tisa[-1]]
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    result = run("verify", "--file", str(damaged), "--digest", str(digest), "--format", "json")
    report = json.loads(result.stdout)
    assert result.exit_code == 1 and not report["ok"]
    assert any(
        p["agreement"] == "tisa-2014" and finding in p["problem"] for p in report["problems"]
    )


# -- signed digests ---------------------------------------------------------------------------


def test_the_private_key_is_readable_by_its_owner_only(original):
    _, _, _, key = original
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert Path(f"{key}.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert run("keygen", str(key)).exit_code == 2  # never overwritten


def test_a_digest_altered_after_signing_or_checked_with_another_key_fails(original, tmp_path):
    cli, digest, _, _ = original
    document = json.loads(digest.read_text())
    document["streams"][0]["version"] += 1
    document["digest"] = "recomputed-by-the-forger"
    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps(document))
    other = tmp_path / "other.key"
    assert run("keygen", str(other)).exit_code == 0
    for path, key, which in (
        (altered, f"{original[3]}.pub", "altered after it was signed"),
        (digest, f"{other}.pub", "signed with another key"),
    ):
        result = cli("verify", "--digest", str(path), "--key", key, "--format", "json")
        assert result.exit_code == 1
        (problem,) = json.loads(result.stdout)["problems"]
        assert "signature does not match" in problem["problem"] and which in problem["problem"]
    unsigned = tmp_path / "unsigned.json"
    assert cli("digest", "-o", str(unsigned)).exit_code == 0
    result = cli("verify", "--digest", str(unsigned), "--key", f"{original[3]}.pub")
    assert result.exit_code == 1 and "not signed" in result.stdout


def test_a_format_1_digest_is_still_read(original, tmp_path):
    cli, digest, _, _ = original
    document = json.loads(digest.read_text())
    from agreement_ledger.ledger.verification import digest_hash

    v1 = {
        "format": "agreement-ledger-digest/1",
        "created_at": document["created_at"],
        "events": document["events"],
        "streams": document["streams"],
        "digest": digest_hash(document["streams"], document["events"]),
    }
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(v1))
    assert cli("verify", "--digest", str(path)).exit_code == 0


# -- inclusion proofs -------------------------------------------------------------------------


@pytest.fixture
def proved(original, tmp_path):
    cli, digest, _, _ = original
    proof = tmp_path / "proof.json"
    result = cli(
        "prove", "open-skies-1992", "os-us-notice", "-o", str(proof), "--digest", str(digest)
    )
    assert result.exit_code == 0, result.output
    return cli, digest, proof


def test_a_proof_shows_one_event_is_in_the_ledger_with_no_database(proved, tmp_path, monkeypatch):
    _, digest, proof = proved
    monkeypatch.chdir(tmp_path)
    result = run("verify", "--proof", str(proof), "--digest", str(digest))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: event os-us-notice of open-skies-1992 is in the ledger")
    assert not (tmp_path / "ledger.db").exists()


@pytest.mark.parametrize("forgery", ["altered event", "wrong leaf index", "another ledger"])
def test_a_forged_proof_fails(proved, new_db, tmp_path, forgery):
    _, digest, proof = proved
    document = json.loads(proof.read_text())
    against = digest
    if forgery == "altered event":
        document["record"]["effective"] = "2020-12-22"
        from agreement_ledger.ledger.chain import record_hash

        document["record"]["hash"] = record_hash(document["record"])  # a consistent forgery
    elif forgery == "wrong leaf index":
        document["leaf_index"] -= 1
    else:
        other = new_db()
        assert run("--db", other, "import", str(EXAMPLE)).exit_code == 0
        against = tmp_path / "other.json"
        assert run("--db", other, "digest", "-o", str(against)).exit_code == 0
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document))
    result = run("verify", "--proof", str(forged), "--digest", str(against), "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["problems"]


def test_the_published_proof_vector_verifies():
    vector = FIXTURES / "proof-vector"
    result = run(
        "verify",
        "--proof",
        str(vector / "proof.json"),
        "--digest",
        str(vector / "digest.json"),
        "--key",
        str(vector / "office.key.pub"),
    )
    assert result.exit_code == 0, result.output


def test_the_merkle_tree_matches_the_rfc_6962_reference_vectors():
    vectors = json.loads((FIXTURES / "merkle-vectors.json").read_text())
    leaves = [bytes.fromhex(leaf) for leaf in vectors["leaves"]]
    for size, expected in enumerate(vectors["roots"]):
        assert merkle.root(leaves[:size]).hex() == expected, size
    for case in vectors["inclusion"]:
        path = [bytes.fromhex(h) for h in case["path"]]
        leaf = leaves[case["index"]]
        assert [p.hex() for p in merkle.audit_path(case["index"], leaves[: case["size"]])] == case[
            "path"
        ]
        assert (
            merkle.root_from_path(case["index"], case["size"], leaf, path).hex()
            == vectors["roots"][case["size"]]
        )


# -- canonical JSON ----------------------------------------------------------------------------


def test_the_hashed_bytes_are_rfc_8785_on_every_event_of_the_fixtures(original):
    cli = original[0]
    for name in ("iccpr-us-reservations", "energy-charter-russia"):
        assert cli("import", str(HISTORIES / f"{name}.jsonl")).exit_code == 0
    records = [json.loads(line) for line in cli("export").stdout.splitlines()]
    assert len(records) > 80
    for record in records:
        hashed = {k: v for k, v in record.items() if k not in UNHASHED_KEYS}
        assert canonical_bytes(hashed) == rfc8785.dumps(hashed), record["id"]


# -- found by an auditor's and an attacker's review -----------------------------------------


def _rechain(records: list[dict]) -> list[dict]:
    """What a forger with the export does: recompute every hash and link consistently."""
    from agreement_ledger.ledger.chain import GENESIS, record_hash

    previous: dict[str, str] = {}
    for record in sorted(records, key=lambda r: (r["agreement"], r["version"])):
        record["prev_hash"] = previous.get(record["agreement"], GENESIS)
        record["hash"] = record_hash(record)
        previous[record["agreement"]] = record["hash"]
    return records


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    return path


def test_a_consistent_forgery_without_a_registration_is_neither_restored_nor_verified(
    original, new_db, tmp_path
):
    _, _, export, _ = original
    records = [
        r for r in lines_of(export) if not (r["agreement"] == "tisa-2014" and r["version"] == 1)
    ]
    for record in records:
        if record["agreement"] == "tisa-2014":
            record["version"] -= 1
    forged = _write(tmp_path / "forged.jsonl", _rechain(records))
    copy = new_db()
    result = run("--db", copy, "import", "--restore", str(forged))
    assert result.exit_code == 1, result.output
    assert "nothing restored" in result.stderr and count_events(copy) == 0
    checked = run("verify", "--file", str(forged), "--format", "json")
    assert checked.exit_code == 1
    assert any(
        "does not begin with its registration" in p["problem"]
        for p in json.loads(checked.stdout)["problems"]
    )


def test_a_restore_that_could_not_be_read_back_writes_nothing(original, new_db, tmp_path):
    _, _, export, _ = original
    records = lines_of(export)
    tisa = max(r["version"] for r in records if r["agreement"] == "tisa-2014")
    records.append(
        {
            "agreement": "tisa-2014",
            "type": "corrected",
            "id": "retract-registration",
            "target": "registered",
            "retracted": True,
            "version": tisa + 1,
            "recorded_at": "2026-11-27T12:00:00.000000Z",
            "recorded_by": "forger",
            "seq": 10_000,
        }
    )
    forged = _write(tmp_path / "forged.jsonl", _rechain(records))
    copy = new_db()
    result = run("--db", copy, "import", "--restore", str(forged))
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.output
    assert count_events(copy) == 0


def test_an_export_checked_offline_against_a_digest_covers_every_event_it_names(original, tmp_path):
    _, digest, export, key = original
    records = lines_of(export)
    records.append(
        {
            "agreement": "pact-z",
            "type": "registered",
            "id": "pact-z/1",
            "title": "Backdated",
            "open": False,
            "parties": [],
            "version": 1,
            "recorded_at": "2000-01-01T00:00:00.000000Z",
            "recorded_by": "forger",
            "seq": 0,
        }
    )
    forged = _write(tmp_path / "backdated.jsonl", _rechain(records))
    result = run(
        "verify",
        "--file",
        str(forged),
        "--digest",
        str(digest),
        "--key",
        f"{key}.pub",
        "--format",
        "json",
    )
    assert result.exit_code == 1
    assert any("Merkle root differs" in p["problem"] for p in json.loads(result.stdout)["problems"])


def test_verifying_one_agreement_against_a_whole_ledger_s_digest(original):
    cli, digest, _, _ = original
    result = cli("verify", "tisa-2014", "--digest", str(digest))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "change",
    [
        {"events": "86"},
        {"events": 86.0},
        {"merkle_root": 5},
        {"streams": {}},
    ],
    ids=["events as text", "events as a float", "a root that is no hash", "streams not a list"],
)
def test_a_digest_of_the_wrong_types_is_not_a_digest(original, tmp_path, change):
    cli, digest, _, _ = original
    document = {**json.loads(digest.read_text()), **change}
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(document))
    result = cli("verify", "--digest", str(path), "--format", "json")
    assert result.exit_code == 1
    assert (
        json.loads(result.stdout)["problems"][0]["problem"]
        == "the digest file is not a ledger digest"
    )


def test_a_null_proof_is_no_proof_and_a_proof_goes_alone(proved, tmp_path):
    _, digest, proof = proved
    null = tmp_path / "null.json"
    null.write_text("null")
    result = run("verify", "--proof", str(null), "--digest", str(digest))
    assert result.exit_code == 1 and "not a ledger inclusion proof" in result.stdout
    both = run("verify", "--proof", str(proof), "--file", str(null), "--digest", str(digest))
    assert both.exit_code == 2


def test_the_signature_vouches_for_when_the_digest_was_taken(original, tmp_path):
    cli, digest, _, key = original
    document = json.loads(digest.read_text())
    document["created_at"] = "2001-01-01T00:00:00.000000Z"
    path = tmp_path / "redated.json"
    path.write_text(json.dumps(document))
    result = cli("verify", "--digest", str(path), "--key", f"{key}.pub")
    assert result.exit_code == 1 and "altered after it was signed" in result.stdout
