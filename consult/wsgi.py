"""WSGI entry point for consult."""

import os

from django.core.wsgi import get_wsgi_application

from consult.web.load_shedding import LoadShedding

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "consult.settings")

# Around Django, not inside it: a request refused in a surge costs next to nothing.
application = LoadShedding(get_wsgi_application())
