"""Other apps' admin lists (Django's users and groups, django-axes' login records) under the
rule consult's own lists follow: a query-string value that would fail the query is a 400, not
a 500 (`consult.querystring.UsableLookupValues`; axes' list drills into dates).

The admin's autodiscovery imports this module after theirs: consult.intake is the last
installed app.
"""

from django.contrib import admin

from consult.querystring import UsableLookupValues

for model, model_admin in list(admin.site._registry.items()):
    if not isinstance(model_admin, UsableLookupValues):
        admin.site.unregister(model)
        admin.site.register(
            model, type(type(model_admin).__name__, (UsableLookupValues, type(model_admin)), {})
        )
