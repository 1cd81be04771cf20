"""Email normalisation: the identity key of a person.

Normalising is deliberately conservative (trim, lower-case) and does not strip '+tags' or
Gmail dots: two addresses a mail server may deliver differently stay two people.
Syntax is checked with `email-validator` rather than a home-made regex.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

PERSONAL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "gmx.com",
        "gmx.de",
        "web.de",
        "proton.me",
        "protonmail.com",
        "mail.com",
        "yandex.com",
        "qq.com",
        "163.com",
    }
)


class EmailError(ValueError):
    """An address that is not a syntactically valid email."""


def normalise_email(text: str) -> str:
    """Return the canonical form of an address or raise EmailError with a readable reason."""
    raw = text.strip()
    if not raw:
        raise EmailError("empty email")
    try:
        checked = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise EmailError(f"'{raw}' is not a valid email: {exc}") from exc
    return checked.normalized.lower()


def email_domain(email: str) -> str:
    """The part after '@' of an already normalised address."""
    return email.rsplit("@", 1)[1]


def is_personal_domain(domain: str) -> bool:
    return domain.lower() in PERSONAL_DOMAINS
