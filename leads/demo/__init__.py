"""Demo data: a believable year of a sales organisation's leads, fast enough to make a million of them.

`demo_seed` fills the database with users of every role (password "demo"), one channel per channel kind with
monthly spend, and leads with interactions, stage changes and follow-up tasks. The figures tell the stories
the reports exist for: leads answered within five minutes convert far more often than those answered after a
day, never-answered leads do not convert, recent leads are still open, reps differ in speed, and channels
differ in cost and quality.

- `vocabulary`: the people, rates and wording the data is drawn from (the knobs);
- `generator`: the rows, as plain tuples, a chunk of leads at a time;
- `writers`: loading them with COPY (a million leads with ten million interactions in a few minutes);
- `seed`: the whole run, in one transaction.
"""

from leads.demo.seed import DEFAULT_LEADS, DemoSeedResult, demo_data_delete, demo_seed, demo_users_ensure
from leads.demo.vocabulary import DEMO_PASSWORD, DEMO_USERS

__all__ = [
    "DEFAULT_LEADS",
    "DEMO_PASSWORD",
    "DEMO_USERS",
    "DemoSeedResult",
    "demo_data_delete",
    "demo_seed",
    "demo_users_ensure",
]
