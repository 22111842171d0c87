"""Django's own tests of ``cache_page``, the cache middleware and ``{% cache %}``, ported.

Each test is named after its Django 5.2 original and says where it comes from. The Django
tests inspect cache keys and middleware internals; these ports check the same rules the way
a client sees them: was the page served from the cache (``X-Smartcache`` and the view's run
counter), and did a client get a response made for another client or variant.
Deliberate differences from Django are listed in ``DIFFERENCES.md`` beside this file.
"""
