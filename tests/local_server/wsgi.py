"""WSGI entry point of the coherence servers (``gunicorn tests.local_server.wsgi``)."""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "tests.local_server.settings"

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
