"""Chinese input formats with the seconds first.

A comment period ends at an exact second (23:59:59). Django's zh_Hans formats show a time as
HH:MM, so the admin's period fields dropped the seconds and a page saved untouched moved the
close 59 seconds earlier. Times are shown, and read first, with their seconds; the other
formats stay Django's (a format module only overrides what it names).
"""

# Shown (the admin's lists, "submitted at"): a close at 16:59:59 read "16:59" before.
DATETIME_FORMAT = "Y年n月j日 H:i:s"

TIME_INPUT_FORMATS = [
    "%H:%M:%S",  # '20:45:29'
    "%H:%M",  # '20:45'
    "%H:%M:%S.%f",  # '20:45:29.000200'
]

DATETIME_INPUT_FORMATS = [
    "%Y/%m/%d %H:%M:%S",  # '2016/09/05 20:45:29'
    "%Y-%m-%d %H:%M:%S",  # '2016-09-05 20:45:29'
    "%Y年%n月%j日 %H:%M:%S",  # '2016年9月5日 20:45:29'
    "%Y/%m/%d %H:%M",  # '2016/09/05 20:45'
    "%Y-%m-%d %H:%M",  # '2016-09-05 20:45'
    "%Y年%n月%j日 %H:%M",  # '2016年9月5日 14:45'
    "%Y/%m/%d %H:%M:%S.%f",  # '2016/09/05 20:45:29.000200'
    "%Y-%m-%d %H:%M:%S.%f",  # '2016-09-05 20:45:29.000200'
]
