"""What every HTML page of the ledger shares: the template environment (escaping, the
status table's wording, filters) and where a page of the site lives.

The report (``ledger report``) and the site (``ledger site``) render through it, so an
agreement's page in the site is the report, and both escape alike.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from agreement_ledger.ledger.text import visible
from agreement_ledger.projections import parties as status_table


def page_of_agreement(key: str) -> str:
    return f"agreements/{key}.html"


def page_of_party(code: str) -> str:
    return f"parties/{code}.html"


def environment() -> Environment:
    """A new template environment with everything the pages share."""
    env = Environment(
        loader=PackageLoader("agreement_ledger.projections", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        finalize=_shown,
    )
    env.globals.update(
        page_of_agreement=page_of_agreement,
        page_of_party=page_of_party,
        participant=status_table.participant,
        consent_text=status_table.consent_text,
        end_text=status_table.end_text,
        provisional_text=status_table.provisional_text,
        requirement_text=status_table.requirement_text,
    )
    env.filters["words"] = lambda value: str(value or "").replace("_", " ")
    env.filters["breakable_time"] = _breakable_time
    return env


def _breakable_time(value: Any) -> Markup:
    """A timestamp that may break after its ``T`` (date over time), nowhere else."""
    date_part, _, time_part = visible(str(value)).partition("T")
    if not time_part:
        return escape(date_part)
    return Markup("{}T<wbr>{}").format(date_part, time_part)


def _shown(value: Any) -> Any:
    """Every printed string with its control characters visible (then HTML-escaped)."""
    if isinstance(value, Markup):  # made here, its parts already made visible and escaped
        return value
    return visible(value) if isinstance(value, str) else value
