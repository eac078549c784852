"""The date a photo's file name gives, for photos with no date inside them.

Phones and messengers name photos by when they were taken ("IMG_20190704_153012.jpg",
"PXL_20210101_123456789.jpg", "IMG-20190704-WA0001.jpg", "Screenshot_2020-01-01-12-00-00.png")
but strip or never write EXIF dates, and a copy gets today's file time. The name is then the
better witness: a photo copied from an old phone today otherwise sorts at the top of the
timeline as if shot today.
"""

from __future__ import annotations

import re
from datetime import datetime

# A date as year, month, day with one separator (or none) between them, not inside a longer
# run of digits; then, optionally, a time as hours, minutes, seconds (one separator or none,
# milliseconds allowed after it). Parts out of range never match; datetime() checks the rest
# (30 February).
_NAME_DATE = re.compile(
    r"(?<![0-9])((?:19|20)[0-9]{2})([-_.]?)(0[1-9]|1[0-2])\2(0[1-9]|[12][0-9]|3[01])"
    r"(?:[-_ T.]?([01][0-9]|2[0-3])([-_.:]?)([0-5][0-9])\6([0-5][0-9])(?:[-_.]?[0-9]{1,3})?)?"
    r"(?![0-9])"
)
EARLIEST_YEAR = 1900  # scans of old prints are named by their year too


def date_from_filename(name: str, now: datetime | None = None) -> str | None:
    """ISO 8601 local date and time the file name gives (midnight when it gives a day only), or None.

    A date after `now` (tomorrow, allowing for time zones) is no date: a serial number can look
    like one."""
    latest = now or datetime.now()
    for match in _NAME_DATE.finditer(name):
        year, _, month, day, hour, _, minute, second = match.groups()
        try:
            taken = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
        except ValueError:
            continue
        if taken.year >= EARLIEST_YEAR and (taken - latest).days < 1:
            return taken.isoformat()
    return None
