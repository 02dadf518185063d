"""Which party (Contact, Lead, Customer, CRM Lead, CRM Deal) a phone number belongs to.

The Frappe side looks the number up (`phones.matching_variants`) in each doctype of `match_order` and
hands every hit to `choose_party`. The order, and why:

1. Contact: the person. In ERPNext the phone numbers live on the Contact, which links to its Customer
   or Lead, so the Contact is the most specific record and its timeline reaches the others through links.
2. Lead: a prospect who has no Contact yet (a converted Lead has one, which then wins).
3. Customer: its `mobile_no` comes from its primary Contact, so a Customer hit usually comes with a
   Contact hit; alone, it is a customer whose number was stored without a Contact.
4. CRM Lead, then CRM Deal (Frappe CRM, only when installed): CRM keeps its own records beside ERPNext's.

Within one doctype the most recently modified record wins (it is the one people are working on). All the
other hits come back too, so the UI can show that a number is shared and offer to re-link the
conversation; once a user has linked it by hand, that choice (`preferred`) wins as long as it still matches.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

ERPNEXT_ORDER = ("Contact", "Lead", "Customer")
CRM_ORDER = ("CRM Lead", "CRM Deal")


@dataclass(frozen=True)
class PartyCandidate:
    doctype: str
    name: str
    modified: datetime


@dataclass(frozen=True)
class PartyMatch:
    chosen: PartyCandidate | None
    others: tuple[PartyCandidate, ...]

    @property
    def ambiguous(self) -> bool:
        """More than one record has this number: offer the user a choice."""
        return bool(self.others)


def match_order(crm_installed: bool) -> tuple[str, ...]:
    """The doctypes to look a number up in, most preferred first."""
    return ERPNEXT_ORDER + CRM_ORDER if crm_installed else ERPNEXT_ORDER


def choose_party(
    candidates: Iterable[PartyCandidate],
    crm_installed: bool,
    preferred: tuple[str, str] | None = None,
) -> PartyMatch:
    """The party a conversation with this number belongs to, and every other record that has the number.

    `preferred` is (doctype, name) of the party a user linked the conversation to; it wins while it is
    among the candidates. Candidates of a doctype outside `match_order(crm_installed)` are a caller bug.
    """
    order = match_order(crm_installed)
    latest: dict[tuple[str, str], PartyCandidate] = {}
    for candidate in candidates:
        if candidate.doctype not in order:
            raise ValueError(f"{candidate.doctype!r} is not a party doctype here (expected one of {order})")
        key = (candidate.doctype, candidate.name)
        # One record can match through several stored forms of the number: keep it once.
        if key not in latest or _newest_first(candidate) < _newest_first(latest[key]):
            latest[key] = candidate
    ranked = sorted(latest.values(), key=lambda c: (order.index(c.doctype), _newest_first(c), c.name))
    if not ranked:
        return PartyMatch(chosen=None, others=())
    chosen = next((c for c in ranked if (c.doctype, c.name) == preferred), ranked[0])
    return PartyMatch(chosen=chosen, others=tuple(c for c in ranked if c is not chosen))


def _newest_first(candidate: PartyCandidate) -> float:
    moment = candidate.modified
    # Frappe's `modified` is naive (site time zone); compare naive values as they are, aware ones as instants.
    return -(
        moment.timestamp() if moment.tzinfo is not None else (moment - datetime(1970, 1, 1)).total_seconds()
    )
