"""Marketing channels a program belongs to; cost and influence reports group by them."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    WEBINAR = "webinar"
    PAID_SEARCH = "paid_search"
    PAID_SOCIAL = "paid_social"
    TRADE_SHOW = "trade_show"
    CONTENT_SYNDICATION = "content_syndication"
    EMAIL = "email"
    ORGANIC = "organic"
    REFERRAL = "referral"
    PARTNER = "partner"
    EVENT = "event"
    DIRECT_MAIL = "direct_mail"
    SALES_OUTBOUND = "sales_outbound"
    OTHER = "other"

    @classmethod
    def parse(cls, text: str) -> Channel:
        key = text.strip().lower().replace(" ", "_").replace("-", "_")
        try:
            return cls(key)
        except ValueError as exc:
            names = ", ".join(c.value for c in cls)
            raise ValueError(f"unknown channel '{text}' (expected one of: {names})") from exc
