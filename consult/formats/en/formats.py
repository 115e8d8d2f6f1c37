"""English formats with the seconds shown: a comment period ends at an exact second, and
Django's "Jan. 4, 2027, 4:59 p.m." showed a close at 16:59:59 a minute off. The other formats
stay Django's (a format module only overrides what it names)."""

DATETIME_FORMAT = "N j, Y, H:i:s"
