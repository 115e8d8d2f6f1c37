"""Admin pages read as a browser reads them."""

from html.parser import HTMLParser


def admin_form(page: str) -> dict:
    """The change form's fields as the browser would post them."""

    class Form(HTMLParser):
        def __init__(self):
            super().__init__()
            self.data, self.select, self.textarea = {}, None, None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            kind = a.get("type")
            if tag == "input" and a.get("name") and kind not in ("submit", "checkbox", "file"):
                self.data[a["name"]] = a.get("value", "")
            elif tag == "input" and kind == "checkbox" and "checked" in a:
                self.data[a["name"]] = "on"
            elif tag == "select":
                self.select = a.get("name")
            elif tag == "option" and self.select and "selected" in a:
                self.data[self.select] = a.get("value", "")
            elif tag == "textarea":
                self.textarea = a.get("name")
                self.data[self.textarea] = ""

        def handle_endtag(self, tag):
            if tag == "select":
                self.select = None
            if tag == "textarea":
                self.textarea = None

        def handle_data(self, data):
            if self.textarea:
                self.data[self.textarea] += data

    form = Form()
    form.feed(page)
    return form.data
