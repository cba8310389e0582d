"""Checking a patient's identity (核验身份) against the identifiers stored for them.

Before an upper-level doctor opens a referred patient's record, they type the number on the
patient's 居民身份证 or health card; it is compared with what the referring institution registered.
Typing is forgiving about case and spaces, not about digits: an 18-digit national ID carries an
ISO 7064 MOD 11-2 check digit, so most single-digit typos are caught before anything is compared.
A matched check is valid for that user and referral for `CHECK_VALIDITY` (`server.referrals.identity`).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from server.patients.models import IdentityDocument, IdentityResult, Patient

CHECK_VALIDITY = timedelta(hours=12)

# ISO 7064 MOD 11-2 as GB 11643 applies it: weights 2^(17-i) mod 11, remainder → check character.
_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
_CHECK_CHARACTERS = "10X98765432"
_NATIONAL_ID = re.compile(r"\d{17}[\dX]|\d{15}")
_HEALTH_CARD = re.compile(r"[0-9A-Z]{6,64}")


class InvalidIdentifier(ValueError):
    """The typed number cannot be anyone's: wrong length, characters or check digit."""


def normalise(value: str) -> str:
    """Upper case, without spaces (people type IDs in groups, and the check character as x)."""
    return "".join(value.split()).upper()


def check_character(first17: str) -> str:
    """The 18th character of a national ID whose first 17 digits are `first17`."""
    return _CHECK_CHARACTERS[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def _valid_birth_date(digits: str) -> bool:
    try:
        date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return False
    return True


def validate_national_id(typed: str) -> str:
    """The normalised national ID, or `InvalidIdentifier` saying what is wrong with it."""
    value = normalise(typed)
    if not _NATIONAL_ID.fullmatch(value):
        raise InvalidIdentifier("a national ID has 18 characters (17 digits and a digit or X), or 15 digits")
    if len(value) == 15:  # first-generation card: no check digit, two-digit year
        return value
    if not _valid_birth_date(value[6:14]):
        raise InvalidIdentifier(
            "characters 7–14 of a national ID are the birth date, and this one is not a date"
        )
    if value[17] != check_character(value[:17]):
        raise InvalidIdentifier("the check digit of this national ID does not fit its other digits: a typo?")
    return value


def validate_health_card(typed: str) -> str:
    value = normalise(typed)
    if not _HEALTH_CARD.fullmatch(value):
        raise InvalidIdentifier("a health-card number has 6 to 64 letters and digits")
    return value


def stored_identifier(patient: Patient, document: IdentityDocument) -> str | None:
    value = patient.national_id if document == IdentityDocument.NATIONAL_ID else patient.health_card_no
    return normalise(value) if value else None


def compare(patient: Patient, document: IdentityDocument, typed: str) -> IdentityResult:
    """Matched or mismatch; `InvalidIdentifier` if the typed number is malformed (nothing compared)."""
    validate = validate_national_id if document == IdentityDocument.NATIONAL_ID else validate_health_card
    value = validate(typed)
    return (
        IdentityResult.MATCHED if value == stored_identifier(patient, document) else IdentityResult.MISMATCH
    )
