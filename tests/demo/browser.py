"""Submit HTML forms the way a browser does: every successful control, as rendered."""

from __future__ import annotations

from html.parser import HTMLParser

from django.test import Client

SKIPPED_INPUTS = {"submit", "button", "image", "reset", "file"}


class FormParser(HTMLParser):
    """The successful controls of the POST form with id ``form_id`` in a page."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.fields: list[tuple[str, str]] = []
        self.in_form = self.done = False
        self._textarea: str | None = None
        self._select: str | None = None
        self._multiple = False
        self._options: list[tuple[str | None, bool, list[str]]] = []
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attr = dict(attrs)
        if tag == "form" and not self.done and attr.get("id") == self.form_id:
            self.in_form = True
        if not self.in_form or "disabled" in attr:
            return
        name = attr.get("name")
        if tag == "input" and name:
            kind = (attr.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in attr:
                    self.fields.append((name, attr.get("value") or "on"))
            elif kind not in SKIPPED_INPUTS:
                self.fields.append((name, attr.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []
        elif tag == "select" and name:
            self._select, self._options = name, []
            self._multiple = "multiple" in attr
        elif tag == "option" and self._select:
            self._text = []
            self._options.append((attr.get("value"), "selected" in attr, self._text))

    def handle_data(self, data):
        self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form" and self.in_form:
            self.in_form, self.done = False, True
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            self.fields.append((self._textarea, text.removeprefix("\n")))
            self._textarea = None
        elif tag == "select" and self._select:
            values = [
                (value if value is not None else "".join(text).strip(), selected)
                for value, selected, text in self._options
            ]
            chosen = [value for value, selected in values if selected]
            if not chosen and not self._multiple:  # a browser sends the first option
                chosen = [value for value, _selected in values[:1]]
            self.fields.extend((self._select, value) for value in chosen)
            self._select = None


def form_data(html: str, form_id: str) -> dict[str, list[str]]:
    """What submitting the form ``form_id`` of a page unchanged would send."""
    parser = FormParser(form_id)
    parser.feed(html)
    data: dict[str, list[str]] = {}
    for name, value in parser.fields:
        data.setdefault(name, []).append(value)
    return data


def submit(client: Client, url: str, **typed: object) -> dict[str, list[str]]:
    """GET the form at ``url``, type ``typed`` into it, POST it; return what was sent.

    Asserts the admin accepted it (a redirect); on a re-rendered form, shows its errors.
    """
    page = client.get(url)
    assert page.status_code == 200, f"GET {url}: {page.status_code}"
    # The admin's add/change form is <form id="<model>_form">; the header's logout form is not.
    model = page.context["opts"].model_name
    data = form_data(page.content.decode(), f"{model}_form")
    assert "csrfmiddlewaretoken" in data, f"no CSRF token in the form at {url}"
    for name, value in typed.items():
        data[name] = [str(value)]
    data.setdefault("_save", ["Save"])
    response = client.post(url, data)
    errors = response.context["adminform"].form.errors if response.status_code == 200 else ""
    assert response.status_code == 302, f"POST {url}: {response.status_code} {errors}"
    return data
