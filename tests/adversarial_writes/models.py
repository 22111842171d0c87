"""Extra models for the adversarial write tests: tables named like SQL keywords and an
integer pk that is not ``id``. Registered in the ``testapp`` app (so tracked); their
tables are created by the tests that use them (``keyword_tables`` fixture)."""

from django.db import models


class KwOnly(models.Model):  # noqa: DJ008 - never shown
    v = models.IntegerField(default=0)

    class Meta:
        app_label = "testapp"
        db_table = "only"


class KwIgnore(models.Model):  # noqa: DJ008 - never shown
    v = models.IntegerField(default=0)

    class Meta:
        app_label = "testapp"
        db_table = "ignore"


class KwSet(models.Model):  # noqa: DJ008 - never shown
    v = models.IntegerField(default=0)

    class Meta:
        app_label = "testapp"
        db_table = "set"


class Gadget(models.Model):  # noqa: DJ008 - never shown
    number = models.IntegerField(primary_key=True)
    v = models.IntegerField(default=0)

    class Meta:
        app_label = "testapp"
        db_table = "adv_gadget"
