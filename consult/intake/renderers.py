"""The API's renderer, in a module of its own: REST_FRAMEWORK's settings import it while
rest_framework.views is still being imported."""

from rest_framework.renderers import JSONRenderer


class OneLayoutJSONRenderer(JSONRenderer):
    """JSON laid out one way for every client: the public answers are copies shared between
    visitors (`shared_with_anonymous_visitors`), and one client's `Accept: application/json;
    indent=8` laid out the copy every later visitor was given."""

    def get_indent(self, accepted_media_type, renderer_context):
        return None
