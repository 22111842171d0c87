"""Invalidate a product's reviews tag when one of its reviews changes.

Saving a review already bumps that review's row and the Review model, but the product page
cannot name a row that does not exist yet (a new review). So the page depends on a custom tag
per product, bumped here after the transaction commits.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from django_smartcache import invalidate

from .models import Review
from .queries import reviews_tag


@receiver(post_save, sender=Review, dispatch_uid="shop_review_saved")
@receiver(post_delete, sender=Review, dispatch_uid="shop_review_deleted")
def review_changed(sender, instance, using, **kwargs):
    tag = reviews_tag(instance.product_id)
    transaction.on_commit(lambda: invalidate(tag), using=using)
