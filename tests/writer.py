"""A writer process for the concurrency tests: appends events one at a time.

    python -m tests.writer DB_URL KEY COUNT NAME

Each event is its own append (its own transaction), followed by the read-model
catch-up, exactly as the ``ledger`` command does it. Exits with the ledger's
exit code on an error.
"""

from __future__ import annotations

import sys

from agreement_ledger.ledger.application import Ledger, Submission
from agreement_ledger.ledger.errors import LedgerError
from agreement_ledger.projections.projector import Projector


def main(db: str, key: str, count: int, name: str) -> int:
    ledger = Ledger(db)
    Projector(ledger).attach()
    try:
        for n in range(count):
            ledger.append(
                [
                    Submission(
                        {
                            "agreement": key,
                            "type": "noted",
                            "id": f"{name}-{n}",
                            "text": f"{name} says {n}",
                            "occurred": "2015-01-01",
                        }
                    )
                ],
                actor=name,
            )
    except LedgerError as error:
        print(f"Error: {error}", file=sys.stderr)
        return error.exit_code
    finally:
        ledger.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
