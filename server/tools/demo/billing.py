"""The demo community's service catalogue, set through the billing service as an administrator would.

Demo figures only: a community's administrator sets its own prices and agreements.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from server.access.actor import Actor
from server.billing.models import PriceTier
from server.billing.rules import REMOTE_FOLLOW_UP_CODE
from server.billing.service import PriceChange, set_price
from server.cases.models import CaseKind
from server.core.clock import Clock

# code, name, the case kind it bills, price in fen per tier, insurance-payable
DEMO_CATALOGUE: list[tuple[str, str, CaseKind, dict[PriceTier, int], bool]] = [
    (REMOTE_FOLLOW_UP_CODE, "互联网(远程)复诊", CaseKind.CONSULT,
     {PriceTier.TERTIARY: 1300, PriceTier.SECONDARY: 900}, True),
    ("TM-IMAGING-READ", "远程影像诊断", CaseKind.IMAGING, {PriceTier.TERTIARY: 4500, PriceTier.SECONDARY: 3000}, False),
    ("TM-ECG-READ", "远程心电诊断", CaseKind.ECG, {PriceTier.TERTIARY: 2000, PriceTier.SECONDARY: 1500}, False),
    ("TM-PATHOLOGY-READ", "远程病理诊断", CaseKind.PATHOLOGY,
     {PriceTier.TERTIARY: 12000, PriceTier.SECONDARY: 8000}, False),
]  # fmt: skip


def load_catalogue(db: Session, actor: Actor, clock: Clock, community_id: int) -> None:
    """Price the demo services in `community_id` (the platform acting names it; a person sets their own)."""
    for code, name, kind, prices, insured in DEMO_CATALOGUE:
        for tier, fen in prices.items():
            change = PriceChange(price_fen=fen, name=name, case_kind=kind, insurance_payable=insured)
            set_price(db, actor, clock, code, tier.value, change, community_id=community_id)
