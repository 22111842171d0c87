"""Tests of the demo shop (example_project/), driven over HTTP with Django's test client."""
