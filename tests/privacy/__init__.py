"""Views and URLs for the privacy matrix (``tests/test_privacy_matrix.py``).

Each view puts one visitor's private data into its response through one channel (a cookie, the
session, ``request.user``, messages, a CSRF token, the ``Authorization`` header, ...) and is cached
as one kind of entry: a page, a template fragment, or a function result.
"""
