"""The demo company's world in words: countries, industries, titles, company names, reasons.

Plain tables, kept in one place so that a reader can see (and change) what the generated
company looks like without reading the simulation. Weights are relative, not percentages.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The seller: reps' email domain and the site whose pages people visit.
SELLER_DOMAIN = "revmachine-demo.com"
COMPETITOR_DOMAIN = "competitor.example"  # the default scoring's competitor list


@dataclass(frozen=True, slots=True)
class Country:
    name: str
    weight: float
    region: str  # sales region: Americas, EMEA, APAC
    utc_offsets: tuple[float, ...]  # business hours are local; one offset is drawn per person
    tld: str
    locale: str  # Faker locale whose name lists are used
    legal_suffix: str  # appended to company names
    opt_in_rate: float  # share of people who gave marketing consent


COUNTRIES: tuple[Country, ...] = (
    Country("United States", 44, "Americas", (-5, -6, -7, -8), "com", "en_US", "Inc", 0.75),
    Country("Canada", 5, "Americas", (-5, -8), "ca", "en_US", "Inc", 0.6),
    Country("Brazil", 3, "Americas", (-3,), "com.br", "pt_BR", "Ltda", 0.6),
    Country("United Kingdom", 10, "EMEA", (0,), "co.uk", "en_GB", "Ltd", 0.6),
    Country("Germany", 8, "EMEA", (1,), "de", "de_DE", "GmbH", 0.5),
    Country("France", 6, "EMEA", (1,), "fr", "fr_FR", "SA", 0.5),
    Country("Netherlands", 4, "EMEA", (1,), "nl", "nl_NL", "BV", 0.55),
    Country("Spain", 3, "EMEA", (1,), "es", "es_ES", "SL", 0.5),
    Country("Sweden", 3, "EMEA", (1,), "se", "sv_SE", "AB", 0.55),
    Country("Australia", 5, "APAC", (10,), "com.au", "en_NZ", "Pty Ltd", 0.65),
    Country("India", 6, "APAC", (5.5,), "in", "en_IN", "Pvt Ltd", 0.7),
    Country("Singapore", 3, "APAC", (8,), "sg", "en_US", "Pte Ltd", 0.65),
)


@dataclass(frozen=True, slots=True)
class Industry:
    name: str
    weight: float
    target: bool  # in the default scoring's target_industries list
    suffixes: tuple[str, ...]  # words that make a company name sound like the industry
    revenue_per_employee: float  # USD, for annual_revenue


INDUSTRIES: tuple[Industry, ...] = (
    Industry("Technology", 14, True, ("Systems", "Technologies", "Labs"), 320_000),
    Industry("Software", 14, True, ("Software", "Cloud", "Apps"), 280_000),
    Industry("Financial Services", 10, True, ("Capital", "Financial", "Partners"), 450_000),
    Industry("Manufacturing", 10, True, ("Industries", "Manufacturing", "Components"), 260_000),
    Industry("Healthcare", 8, True, ("Health", "Medical", "Care"), 180_000),
    Industry("Retail", 8, False, ("Retail", "Brands", "Stores"), 220_000),
    Industry("Professional Services", 9, False, ("Consulting", "Advisors", "Group"), 190_000),
    Industry("Media", 5, False, ("Media", "Studios", "Publishing"), 240_000),
    Industry("Education", 5, False, ("Learning", "Academy", "Education"), 120_000),
    Industry("Logistics", 5, False, ("Logistics", "Freight", "Transport"), 210_000),
    Industry("Energy", 4, False, ("Energy", "Power", "Renewables"), 520_000),
    Industry("Non-profit", 3, False, ("Foundation", "Alliance", "Trust"), 90_000),
)

#: Company name = one of these stems + an industry suffix (+ the country's legal form).
NAME_STARTS = (
    "North", "Blue", "Bright", "Silver", "Apex", "Summit", "Cedar", "River", "Iron", "Nova",
    "Harbor", "Pioneer", "Vertex", "Crimson", "Golden", "Ever", "Atlas", "Orion", "Falcon",
    "Maple", "Granite", "Sky", "Sun", "Storm", "Pine", "Clear", "Swift", "Stellar", "Oak",
    "Red", "Green", "Lake", "Prime", "True", "Wild", "Polar", "Coral", "Echo", "Terra",
    "Zen", "Bold", "Alpine", "Aero", "Lumen", "Metro", "Open", "Quantum", "Rapid", "Sage",
    "Tidal", "Urban", "Vivid", "West", "East", "High", "Deep", "Star", "Fox", "Wolf", "Hawk",
)  # fmt: skip
NAME_ENDS = (
    "wind", "stone", "field", "point", "gate", "bridge", "works", "light", "path", "wave",
    "forge", "line", "view", "crest", "ridge", "brook", "haven", "peak", "spring", "vale",
    "wood", "mark", "port", "side", "shore", "way", "star", "beam", "core", "scale",
    "leaf", "rock", "well", "wing", "fire", "glen", "moor", "dale", "ford", "bay",
)  # fmt: skip

PERSONAL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com")

DEPARTMENTS: dict[str, tuple[float, float]] = {
    # department: (weight among people, relevance: how much the account's buying intent
    # shows in this person's behaviour; marketing and revenue operations buy this product)
    "Marketing": (34, 1.0),
    "Revenue Operations": (10, 0.9),
    "Sales": (15, 0.75),
    "IT": (12, 0.45),
    "Customer Success": (6, 0.35),
    "Finance": (8, 0.3),
    "Operations": (10, 0.25),
    "Human Resources": (5, 0.1),
}

SENIORITIES: dict[str, tuple[float, float]] = {
    # seniority: (weight, decision power: how likely their interest turns into a deal)
    "C-Level": (4, 1.4),
    "VP": (8, 1.3),
    "Director": (15, 1.2),
    "Manager": (30, 1.0),
    "Individual Contributor": (43, 0.6),
}

TITLES: dict[str, dict[str, tuple[str, ...]]] = {
    "Marketing": {
        "C-Level": ("Chief Marketing Officer", "CMO"),
        "VP": ("VP Marketing", "VP of Demand Generation", "Vice President, Marketing"),
        "Director": (
            "Director of Demand Generation",
            "Director of Marketing Operations",
            "Head of Growth Marketing",
        ),
        "Manager": (
            "Marketing Manager",
            "Demand Generation Manager",
            "Marketing Operations Manager",
            "Campaign Manager",
        ),
        "Individual Contributor": (
            "Marketing Specialist",
            "Marketing Coordinator",
            "Content Strategist",
            "Campaign Specialist",
            "Marketing Analyst",
        ),
    },
    "Revenue Operations": {
        "C-Level": ("Chief Revenue Officer", "CRO"),
        "VP": ("VP Revenue Operations", "VP of Sales Operations"),
        "Director": ("Head of RevOps", "Director of Revenue Operations"),
        "Manager": ("Revenue Operations Manager", "Sales Operations Manager"),
        "Individual Contributor": (
            "Revenue Operations Analyst",
            "Marketing Operations Specialist",
            "Sales Operations Analyst",
        ),
    },
    "Sales": {
        "C-Level": ("Chief Sales Officer", "Chief Commercial Officer"),
        "VP": ("VP Sales", "Vice President of Sales"),
        "Director": ("Sales Director", "Head of Sales", "Director of Inside Sales"),
        "Manager": ("Sales Manager", "Inside Sales Manager", "Team Lead, Sales"),
        "Individual Contributor": (
            "Account Executive",
            "Sales Development Representative",
            "Business Development Representative",
        ),
    },
    "IT": {
        "C-Level": ("CIO", "CTO", "Chief Information Officer"),
        "VP": ("VP Engineering", "VP of IT"),
        "Director": ("Director of IT", "Head of Data"),
        "Manager": ("IT Manager", "Engineering Manager", "Data Platform Manager"),
        "Individual Contributor": (
            "Solutions Architect",
            "Data Engineer",
            "Software Engineer",
            "Systems Administrator",
        ),
    },
    "Customer Success": {
        "C-Level": ("Chief Customer Officer",),
        "VP": ("VP Customer Success",),
        "Director": ("Director of Customer Success",),
        "Manager": ("Customer Success Manager",),
        "Individual Contributor": ("Customer Success Specialist", "Support Engineer"),
    },
    "Finance": {
        "C-Level": ("CFO", "Chief Financial Officer"),
        "VP": ("VP Finance",),
        "Director": ("Finance Director", "Head of FP&A"),
        "Manager": ("FP&A Manager", "Finance Manager"),
        "Individual Contributor": ("Financial Analyst", "Accountant"),
    },
    "Operations": {
        "C-Level": ("COO", "Chief Operating Officer"),
        "VP": ("VP Operations",),
        "Director": ("Director of Operations",),
        "Manager": ("Operations Manager", "Project Manager"),
        "Individual Contributor": ("Operations Analyst", "Business Analyst"),
    },
    "Human Resources": {
        "C-Level": ("Chief People Officer", "CHRO"),
        "VP": ("VP People",),
        "Director": ("HR Director",),
        "Manager": ("HR Manager", "Talent Acquisition Manager"),
        "Individual Contributor": ("Recruiter", "HR Generalist"),
    },
}

STUDENT_TITLES = ("Student", "Graduate Student", "Marketing Intern", "Sales Trainee")
COMPETITOR_TITLES = ("Product Marketing Manager", "Competitive Intelligence Analyst")

#: Paths of the seller's web site, by what a visit says about the visitor.
RESEARCH_PAGES = (
    "/blog/lead-scoring-basics",
    "/blog/revenue-waterfall-explained",
    "/blog/b2b-attribution-models",
    "/blog/mql-to-sql-conversion",
    "/resources/benchmark-report",
    "/resources/forecasting-guide",
    "/customers",
    "/about",
)
PRODUCT_PAGES = (
    "/product",
    "/product/scoring",
    "/product/forecasting",
    "/product/analytics",
    "/integrations",
    "/security",
    "/docs/getting-started",
)
CONTENT_OFFERS = (
    "/resources/ebook-revenue-operations",
    "/resources/guide-lead-scoring",
    "/resources/report-state-of-demand-gen",
    "/resources/template-funnel-model",
    "/resources/checklist-crm-hygiene",
)
PRICING_PAGE = "/pricing"
PRICING_FORM = "/pricing/request-quote"
CONTACT_FORM = "/contact-sales"
DEMO_FORM = "/demo"
TRIAL_FORM = "/trial"
NEWSLETTER_FORM = "/newsletter/subscribe"

#: Sales decisions on hand-raises. Reasons in `revenue_model.yml`'s disqualifying list make
#: the person disqualified; the others recycle them to nurture.
DISQUALIFY_REASONS = ("not_a_fit", "competitor", "student", "spam", "duplicate")
RECYCLE_REASONS = ("bad_timing", "no_budget", "no_response", "not_decision_maker")

OPPORTUNITY_STAGES = ("Discovery", "Demo", "Proposal", "Negotiation")
WON_STAGE, LOST_STAGE = "Closed Won", "Closed Lost"
LOST_REASONS: dict[str, float] = {
    "Price": 22,
    "Lost to competitor": 24,
    "No decision": 28,
    "Timing": 12,
    "Missing features": 9,
    "Champion left": 5,
}
CHURN_REASONS: dict[str, float] = {
    "Churn: budget cuts": 35,
    "Churn: low adoption": 35,
    "Churn: switched to competitor": 20,
    "Churn: company acquired": 10,
}
WON_REASONS = ("Product fit", "Ease of use", "Integrations", "Price", "Relationship")
CONTACT_ROLES = ("Influencer", "Technical Evaluator", "Economic Buyer", "End User")
PRODUCTS = ("Platform", "Platform + Analytics", "Analytics")
