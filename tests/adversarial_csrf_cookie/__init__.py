"""Adversarial tests: the CSRF cookie a cached page sets, and ALLOWED_HOSTS on hits."""
