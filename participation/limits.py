"""Bounds on participation input, shared by services, forms and API schemas."""

from participation.models import Recurrence

TITLE_MIN_LENGTH = 3
TITLE_MAX_LENGTH = 120
DESCRIPTION_MAX_LENGTH = 4000
CATEGORY_NAME_MAX_LENGTH = 100
NOTE_MAX_LENGTH = 2000
REASON_MIN_LENGTH = 3
REASON_MAX_LENGTH = 500
MAX_REWARD_POINTS = 10_000
MAX_PLACES = 50
# A chore is a small job; more than a day of work is almost certainly a typo.
MAX_HOURS_SPENT = 24
# Postings may open their claim window at most this many days ahead.
MAX_DAYS_AHEAD = 366
# Repeats create every occurrence at once, so the count is bounded to one year.
MAX_OCCURRENCES = {Recurrence.WEEKLY: 52, Recurrence.MONTHLY: 12}
DEFAULT_SECOND_APPROVAL_ABOVE_POINTS = 100
