"""What the demo data is made of: the people, the funnel's rates, channels, companies, places and wording.

The numbers here are the knobs of the story the data tells (see the package docstring); the generator only
draws from them.
"""

from dataclasses import dataclass

from crm.roles import Role
from leads.models import Channel, Interaction, LostReason, Stage

DAY = 86_400
HOUR = 3_600


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# --- The sales team ---------------------------------------------------------------------------------------------

DEMO_PASSWORD = "demo"


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: Role
    team: str | None = None
    # How quickly a rep answers new leads (a key of RESPONSE_PROFILES): reps differ, so the speed-to-lead
    # report has something to show per owner.
    speed: str = "steady"
    # Relative share of the team's new leads the rep receives.
    load: float = 1.0

    @property
    def email(self) -> str:
        return f"{self.first_name}.{self.last_name}@example.com".lower()


TEAMS = ("Inside Sales", "Field Sales")
DEMO_USERS = (
    DemoUser("admin", "Dana", "Whitfield", Role.ADMIN),
    DemoUser("manager", "Maria", "Santos", Role.MANAGER, "Inside Sales"),
    DemoUser("rep", "Sam", "Carter", Role.REP, "Inside Sales", speed="fast", load=1.2),
    DemoUser("rep2", "Priya", "Patel", Role.REP, "Inside Sales", speed="steady", load=1.0),
    DemoUser("rep3", "Jordan", "Lee", Role.REP, "Inside Sales", speed="steady", load=1.1),
    DemoUser("rep4", "Emily", "Novak", Role.REP, "Inside Sales", speed="slow", load=0.8),
    DemoUser("manager2", "Thomas", "Becker", Role.MANAGER, "Field Sales"),
    DemoUser("rep5", "Lucas", "Moreau", Role.REP, "Field Sales", speed="fast", load=1.0),
    DemoUser("rep6", "Aisha", "Khan", Role.REP, "Field Sales", speed="steady", load=1.1),
    DemoUser("rep7", "Daniel", "Kim", Role.REP, "Field Sales", speed="slow", load=0.9),
    DemoUser("rep8", "Sofia", "Rossi", Role.REP, "Field Sales", speed="steady", load=1.0),
)
# New leads are routed by territory: the inside team takes the Americas, the field team the rest.
TEAM_BY_REGION = {
    "North America": "Inside Sales",
    "LATAM": "Inside Sales",
    "EMEA": "Field Sales",
    "APAC": "Field Sales",
}
POOL_SHARE = 0.05
# Leads from someone who came before (same email and phone, perhaps through another channel).
RETURNING_SHARE = 0.01

# --- Speed to lead ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseBucket:
    """A band of first-response times (the groups of the conversion-by-response-time report)."""

    label: str
    min_seconds: int
    max_seconds: int
    # Chance that a contacted lead of this band gets qualified, before the lead's own quality is applied: the
    # speed-to-lead effect of the research quoted in DOMAIN.md, toned down.
    qualify_rate: float


RESPONSE_BUCKETS = (
    ResponseBucket("< 5 min", 20, 5 * 60, 0.65),
    ResponseBucket("5–30 min", 5 * 60, 30 * 60, 0.44),
    ResponseBucket("30–60 min", 30 * 60, HOUR, 0.37),
    ResponseBucket("1–24 h", HOUR, DAY, 0.27),
    ResponseBucket("> 24 h", DAY, 10 * DAY, 0.08),
)
# Chance of each bucket, then of never answering, per kind of rep. With the pool, about one lead in ten is
# never answered.
RESPONSE_PROFILES = {
    "fast": (0.32, 0.28, 0.12, 0.14, 0.09, 0.05),
    "steady": (0.15, 0.24, 0.15, 0.24, 0.16, 0.06),
    "slow": (0.06, 0.12, 0.12, 0.32, 0.28, 0.10),
}

# --- The funnel -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelStep:
    """Moving a lead from one open stage to the next, or losing it there."""

    to_stage: Stage
    rate: float  # chance of advancing (the first step takes its rate from the response bucket instead)
    median_days: float  # typical time to advance
    lost_share: float  # of the leads that do not advance, the share closed as lost (the rest stay open)
    lost_median_days: float
    lost_reasons: tuple[tuple[LostReason, float], ...]


FUNNEL_STEPS = (
    FunnelStep(
        Stage.QUALIFIED,
        0.0,
        4,
        0.8,
        12,
        (
            (LostReason.NO_RESPONSE, 35),
            (LostReason.NO_NEED, 25),
            (LostReason.TIMING, 15),
            (LostReason.BAD_DATA, 10),
            (LostReason.NO_BUDGET, 10),
            (LostReason.OTHER, 5),
        ),
    ),
    FunnelStep(
        Stage.PROPOSAL,
        0.5,
        9,
        0.85,
        15,
        (
            (LostReason.NO_BUDGET, 30),
            (LostReason.TIMING, 25),
            (LostReason.COMPETITOR, 25),
            (LostReason.NO_NEED, 15),
            (LostReason.OTHER, 5),
        ),
    ),
    FunnelStep(
        Stage.WON,
        0.46,
        14,
        0.9,
        18,
        ((LostReason.COMPETITOR, 45), (LostReason.NO_BUDGET, 25), (LostReason.TIMING, 20), (LostReason.OTHER, 10)),
    ),
)
# Leads nobody answered: after a month or so, about half are closed by a clean-up.
UNANSWERED_LOST_SHARE = 0.5
UNANSWERED_LOST_REASONS = (
    (LostReason.BAD_DATA, 35),
    (LostReason.OTHER, 30),
    (LostReason.TIMING, 20),
    (LostReason.NO_NEED, 15),
)
# A won deal, in USD, for a company of the middle size band (the size bands scale it).
MEDIAN_DEAL = 12_000

# --- Channels ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    kind: Channel.Kind
    weight: float  # share of new leads
    cost_per_lead: float  # USD: a month's spend is its leads × this, with noise, so cost per lead reads true
    quality: float  # multiplies the chance to qualify (and, softened, to win)
    utm_source: str = ""
    utm_medium: str = ""
    campaigns: tuple[str, ...] = ()

    @property
    def is_web(self) -> bool:
        return bool(self.utm_source)


CHANNELS = (
    ChannelSpec(
        "Google Ads",
        Channel.Kind.PAID_SEARCH,
        22,
        180,
        1.0,
        "google",
        "cpc",
        ("brand-search", "crm-software", "lead-management", "competitor-terms"),
    ),
    ChannelSpec(
        "LinkedIn",
        Channel.Kind.SOCIAL,
        13,
        240,
        0.85,
        "linkedin",
        "paid_social",
        ("abm-mid-market", "thought-leadership", "retargeting"),
    ),
    ChannelSpec(
        "Blog / SEO",
        Channel.Kind.CONTENT,
        16,
        45,
        0.9,
        "blog",
        "organic",
        ("speed-to-lead-guide", "lead-scoring-101", "pipeline-template", "crm-checklist"),
    ),
    ChannelSpec(
        "Newsletter",
        Channel.Kind.EMAIL,
        9,
        20,
        0.8,
        "newsletter",
        "email",
        ("monthly-digest", "product-update", "webinar-invite"),
    ),
    ChannelSpec("Trade shows", Channel.Kind.EVENT, 8, 380, 1.1),
    ChannelSpec("Referrals", Channel.Kind.REFERRAL, 8, 60, 1.9),
    ChannelSpec("Partners", Channel.Kind.PARTNER, 7, 110, 1.4),
    ChannelSpec("Cold outreach", Channel.Kind.COLD, 10, 85, 0.5),
    ChannelSpec("CSV import", Channel.Kind.IMPORT, 7, 6, 0.4),
)
EVENTS = ("SaaStr Annual", "Web Summit", "Dreamforce", "B2B Marketing Expo", "Sales Innovation Summit")
PARTNERS = ("Northbridge Consulting", "Atlas Integrators", "Brightpath Digital", "Crestline Partners")
OUTBOUND_SEQUENCES = ("Outbound Q1", "Outbound Q2", "Outbound Q3", "Outbound Q4")
FORMS = (("demo_request", "/demo"), ("contact_us", "/contact"), ("pricing", "/pricing"), ("whitepaper", "/resources"))
# How often each form brings a web lead in, and its intent: a factor of the lead's quality, as in real funnels where
# who asks for a demo or a price buys several times more often than who downloads a whitepaper.
FORM_WEIGHTS = (14, 30, 18, 38)
FORM_INTENT = {"demo_request": 2.6, "contact_us": 1.0, "pricing": 1.9, "whitepaper": 0.45}
# A lead whose profile fits this well (the product of its fit factors below) may trade a low-intent form for a demo
# request; one that fits this badly, a demo or pricing request for a whitepaper.
FIT_FOR_DEMO, FIT_FOR_WHITEPAPER = 1.5, 0.6
LOW_INTENT_FORMS = ("contact_us", "whitepaper")
# Of the other leads, the share (times their fit, up to twice) who look at the pricing page on their own, and what that says of their intent.
PRICING_VISITOR_SHARE = 0.2
PRICING_VISITOR_INTENT = 1.7
PRICING_PAGE = "/pricing"
# Pages of other visits (the pricing page is visited by the leads above only, so a visit to it means something).
SITE_PAGES = ("/", "/features", "/demo", "/customers", "/blog/speed-to-lead", "/integrations", "/security")

# --- Who the leads are ------------------------------------------------------------------------------------------

FIRST_NAMES = _words(
    """
    James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph
    Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy Anthony Sandra Mark Ashley Paul Emily Steven
    Michelle Andrew Amanda Kevin Melissa Brian Laura George Rebecca Oliver Amelia Noah Sophie Liam Emma Lukas
    Hannah Felix Lea Hugo Chloe Louis Camille Mateo Lucia Pablo Carmen Arjun Ananya Rohan Kavya Wei Mei Hiroshi
    Yuki Lars Ingrid Sven Freja Rafael Beatriz Diego Valentina Omar Leila Ahmed Fatima Tomasz Zofia Jan Anna
    Erik Nora Marco Giulia Ethan Olivia Mason Ava Lucas Mia Henry Grace Samuel Zoe Isaac Ruby
    """
)
LAST_NAMES = _words(
    """
    Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson
    Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis
    Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall
    Mueller Schmidt Schneider Fischer Weber Meyer Wagner Becker Dubois Laurent Bernard Moreau Rossi Ferrari
    Esposito Romano Fernandez Gomez Ruiz Diaz Sharma Gupta Singh Reddy Iyer Tanaka Suzuki Sato Chen Wang Li Zhang
    Jensen Hansen Larsen Nielsen Silva Santos Oliveira Costa Kowalski Nowak Novak Dvorak Murphy Kelly Walsh
    Campbell Stewart Morgan Evans
    """
)
FREE_MAIL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com")


@dataclass(frozen=True)
class Industry:
    name: str
    weight: float
    quality: float
    company_nouns: tuple[str, ...]  # "Acme Analytics", "Acme Freight"...


INDUSTRIES = (
    Industry("Software & SaaS", 18, 1.25, _words("Labs Systems Cloud Software Analytics Apps Data Tech")),
    Industry("Financial Services", 11, 1.1, _words("Capital Finance Bank Payments Insurance Wealth Credit")),
    Industry("Healthcare", 10, 1.0, _words("Health Medical Clinics Care Diagnostics Pharma Biotech")),
    Industry("Manufacturing", 12, 0.9, _words("Industries Manufacturing Works Machinery Components Metals")),
    Industry("Retail & E-commerce", 10, 0.8, _words("Retail Stores Shop Outfitters Market Brands Goods")),
    Industry("Professional Services", 10, 1.05, _words("Consulting Partners Advisors Legal Group Associates")),
    Industry("Logistics & Transport", 8, 0.9, _words("Logistics Freight Transport Shipping Fleet Cargo")),
    Industry("Real Estate", 7, 0.85, _words("Realty Properties Estates Homes Development Living")),
    Industry("Education", 6, 0.7, _words("Academy Learning Education Institute School Tutors")),
    Industry("Media & Marketing", 8, 0.95, _words("Media Studios Creative Agency Digital Publishing")),
)
COMPANY_PREFIXES = _words(
    """
    Acme Apex Atlas Aurora Beacon Blue Bright Cedar Crest Delta Ember Evergreen Falcon Granite Harbor Horizon
    Iron Juniper Keystone Lakeside Lumen Maple Meridian Nova Northwind Oak Orbit Pioneer Quantum Redwood Ridge
    Sierra Silver Summit Sun Tidal True Union Vertex Vista Willow Zenith Alpine Anchor Arbor Aspen Bay Birch
    Canyon Cobalt Copper Coral Crown Echo Elm Fjord Forge Frontier Glacier Golden Harvest Highland Indigo Jade
    Kinetic Lighthouse Lotus Magnet Monarch Nimbus Onyx Pacific Peak Pine Prairie Prism River Sage Sequoia
    Solstice Spark Sterling Stone Swift Terra Thunder Timber Titan Trident Unity Valley Vector Velvet Wave
    """
)
# Different companies the leads work at; several leads per company, as in real B2B data.
COMPANY_COUNT = 4000


@dataclass(frozen=True)
class CompanySize:
    employees: tuple[int, int]
    weight: float
    quality: float
    deal_factor: float  # bigger companies buy bigger deals


COMPANY_SIZES = (
    CompanySize((1, 10), 12, 0.6, 0.3),
    CompanySize((11, 50), 22, 0.9, 0.6),
    CompanySize((51, 200), 26, 1.15, 1.0),
    CompanySize((201, 1000), 22, 1.2, 1.8),
    CompanySize((1001, 5000), 12, 1.0, 3.0),
    CompanySize((5001, 50000), 6, 0.8, 5.0),
)


@dataclass(frozen=True)
class Country:
    code: str
    region: str
    weight: float
    legal_suffix: str
    tld: str
    # Cities with a phone template: "#" is a random digit. A template without "+" is a US number written the
    # local way, which leads/normalize.py reads with the default region.
    cities: tuple[tuple[str, str], ...]


COUNTRIES = (
    Country(
        "US",
        "North America",
        44,
        "Inc.",
        "com",
        (
            ("New York", "(212) 5##-####"),
            ("San Francisco", "(415) 6##-####"),
            ("Chicago", "(312) 7##-####"),
            ("Austin", "(512) 4##-####"),
            ("Boston", "(617) 3##-####"),
            ("Seattle", "(206) 8##-####"),
            ("Atlanta", "(404) 2##-####"),
            ("Denver", "(303) 9##-####"),
        ),
    ),
    Country(
        "CA",
        "North America",
        5,
        "Inc.",
        "ca",
        (("Toronto", "+1 416 5##-####"), ("Vancouver", "+1 604 7##-####"), ("Montreal", "+1 514 3##-####")),
    ),
    Country("MX", "LATAM", 3, "S.A. de C.V.", "mx", (("Mexico City", "+52 55 #### ####"),)),
    Country(
        "BR",
        "LATAM",
        4,
        "Ltda.",
        "com.br",
        (("São Paulo", "+55 11 9####-####"), ("Rio de Janeiro", "+55 21 9####-####")),
    ),
    Country(
        "GB",
        "EMEA",
        10,
        "Ltd",
        "co.uk",
        (("London", "+44 20 7### ####"), ("Manchester", "+44 161 ### ####"), ("Edinburgh", "+44 131 ### ####")),
    ),
    Country(
        "DE",
        "EMEA",
        10,
        "GmbH",
        "de",
        (("Berlin", "+49 30 ########"), ("Munich", "+49 89 ########"), ("Hamburg", "+49 40 ########")),
    ),
    Country("FR", "EMEA", 6, "SAS", "fr", (("Paris", "+33 1 ## ## ## ##"), ("Lyon", "+33 4 ## ## ## ##"))),
    Country("NL", "EMEA", 3, "B.V.", "nl", (("Amsterdam", "+31 20 ### ####"), ("Rotterdam", "+31 10 ### ####"))),
    Country("ES", "EMEA", 3, "S.L.", "es", (("Madrid", "+34 91 ### ## ##"), ("Barcelona", "+34 93 ### ## ##"))),
    Country("AU", "APAC", 5, "Pty Ltd", "com.au", (("Sydney", "+61 2 #### ####"), ("Melbourne", "+61 3 #### ####"))),
    Country("SG", "APAC", 2, "Pte Ltd", "sg", (("Singapore", "+65 6### ####"),)),
    Country("IN", "APAC", 5, "Pvt Ltd", "in", (("Bengaluru", "+91 80 #### ####"), ("Mumbai", "+91 22 #### ####"))),
)


@dataclass(frozen=True)
class JobTitle:
    title: str
    weight: float
    # Weights of the lead's authority: decision maker, influencer, no authority, unknown (AUTHORITIES order).
    authority: tuple[float, float, float, float]
    quality: float


AUTHORITIES = ("decision_maker", "influencer", "other", "unknown")
_EXECUTIVE, _HEAD, _DIRECTOR, _MANAGER, _STAFF = (8, 1, 0, 1), (5, 4, 0, 1), (3, 5, 1, 1), (1, 6, 2, 1), (0, 3, 6, 1)
JOB_TITLES = (
    JobTitle("CEO", 4, _EXECUTIVE, 1.2),
    JobTitle("Founder", 4, _EXECUTIVE, 1.15),
    JobTitle("Owner", 3, _EXECUTIVE, 1.0),
    JobTitle("CTO", 2, _EXECUTIVE, 1.1),
    JobTitle("COO", 2, _EXECUTIVE, 1.15),
    JobTitle("VP of Sales", 5, _HEAD, 1.35),
    JobTitle("VP Marketing", 4, _HEAD, 1.25),
    JobTitle("VP Operations", 2, _HEAD, 1.2),
    JobTitle("Head of Sales", 5, _HEAD, 1.3),
    JobTitle("Head of Growth", 3, _HEAD, 1.2),
    JobTitle("Head of Revenue Operations", 3, _HEAD, 1.3),
    JobTitle("Sales Director", 5, _DIRECTOR, 1.25),
    JobTitle("Director of Marketing", 4, _DIRECTOR, 1.2),
    JobTitle("IT Director", 3, _DIRECTOR, 1.0),
    JobTitle("Director of Operations", 3, _DIRECTOR, 1.05),
    JobTitle("Sales Manager", 8, _MANAGER, 1.0),
    JobTitle("Marketing Manager", 7, _MANAGER, 0.95),
    JobTitle("Operations Manager", 5, _MANAGER, 0.9),
    JobTitle("Procurement Manager", 3, _MANAGER, 0.9),
    JobTitle("Account Executive", 6, _STAFF, 0.75),
    JobTitle("Marketing Specialist", 5, _STAFF, 0.7),
    JobTitle("Business Analyst", 4, _STAFF, 0.75),
    JobTitle("Office Manager", 3, _STAFF, 0.7),
    JobTitle("Software Engineer", 3, _STAFF, 0.6),
    JobTitle("Student", 1, (0, 0, 9, 1), 0.3),
)
AUTHORITY_QUALITY = {"decision_maker": 1.25, "influencer": 1.0, "other": 0.7, "unknown": 0.9}
# BANT facts: value, weight, quality.
BUDGETS = (("confirmed", 30, 1.35), ("none", 12, 0.5), ("unknown", 58, 1.0))
TIMELINES = (("30", 15, 1.3), ("90", 22, 1.1), ("180", 15, 0.9), ("later", 10, 0.6), ("unknown", 38, 0.9))
NEEDS = (
    "Replace spreadsheets for pipeline tracking",
    "Answer inbound web leads faster",
    "One view of every lead's history for the whole team",
    "Lead scoring so reps call the hot leads first",
    "Report cost per lead and return on ad spend by channel",
    "Route leads to the right rep by region automatically",
    "Stop leads from going cold when a rep is away",
    "Forecast the quarter from the pipeline",
)
# The average of the product of the quality factors above (measured over many draws): dividing by it keeps the
# funnel's rates what RESPONSE_BUCKETS and FUNNEL_STEPS say, on average.
QUALITY_MEAN = 1.41

# --- Interactions and tasks -------------------------------------------------------------------------------------

CALL_OUTCOMES = (
    (Interaction.Outcome.CONNECTED, 38),
    (Interaction.Outcome.VOICEMAIL, 30),
    (Interaction.Outcome.NO_ANSWER, 24),
    (Interaction.Outcome.BUSY, 5),
    (Interaction.Outcome.WRONG_NUMBER, 3),
)
FIRST_EMAIL_SUBJECTS = ("Thanks for reaching out", "Your demo request", "Quick question about your team")
FOLLOW_UP_SUBJECTS = ("Following up", "Checking in", "Next steps", "Pricing overview", "Case study you asked for")
REPLY_SUBJECTS = ("Re: Following up", "Re: Next steps", "Re: Pricing overview", "Re: Your demo request")
MEETINGS_BY_STAGE = {Stage.QUALIFIED: "Discovery call", Stage.PROPOSAL: "Product demo", Stage.WON: "Contract review"}
NOTES = (
    "Asked for pricing for the whole team.",
    "Currently evaluating two other vendors.",
    "Budget is approved for next quarter.",
    "Prefers email over phone.",
    "Wants a reference customer in the same industry.",
    "Decision expected after the board meeting.",
)
ARRIVAL_NOTES = {
    Channel.Kind.REFERRAL: "Referred by a customer.",
    Channel.Kind.PARTNER: "Registered by a partner.",
    Channel.Kind.IMPORT: "Imported from a CSV file.",
}
MESSAGES = ("Hi, I just tried to call you. When suits you for a quick chat?", "Thanks, talk tomorrow!")
DOWNLOADS = ("Speed-to-lead playbook (PDF)", "CRM buyer's guide (PDF)", "Pipeline review template (XLSX)")
TASK_TITLES = {
    Stage.NEW: ("Call back", "First call"),
    Stage.CONTACTED: ("Call back", "Follow up by email", "Book discovery call"),
    Stage.QUALIFIED: ("Schedule demo", "Send pricing", "Confirm budget"),
    Stage.PROPOSAL: ("Send proposal", "Follow up on proposal", "Prepare contract"),
}
