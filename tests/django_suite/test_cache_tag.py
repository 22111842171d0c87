"""Ported from Django 5.2 tests/template_tests/syntax_tests/test_cache.py (CacheTagTests,
CacheTests) and tests/cache/tests.py (TestMakeTemplateFragmentKey), run against
``{% smartcache %}``, whose leading arguments mirror ``{% cache timeout name vary_on... %}``.

Templates are translated one for one: ``{% load cache %}{% cache ... %}...{% endcache %}``
becomes ``{% load smartcache %}{% smartcache ... %}...{% endsmartcache %}``. Where Django
checks a fragment key string, these tests check which renders share an entry.
"""

from __future__ import annotations

from django.template import Context, Engine, TemplateSyntaxError
from django.test import TestCase

LIBRARIES = {
    "smartcache": "django_smartcache.templatetags.smartcache",
    "custom": "tests.django_suite.views",  # the ``noop`` filter
}


def engine(**templates) -> Engine:
    """An engine with the ``smartcache`` and ``custom`` libraries and these templates."""
    return Engine(
        libraries=LIBRARIES,
        loaders=[("django.template.loaders.locmem.Loader", templates)],
    )


class CacheTagTests(TestCase):
    def test_cache03(self):
        # Ported from django tests/template_tests/syntax_tests/test_cache.py
        # CacheTagTests.test_cache03
        e = engine(cache03="{% load smartcache %}{% smartcache 2 test %}cache03{% endsmartcache %}")
        self.assertEqual(e.render_to_string("cache03"), "cache03")

    def test_cache04(self):
        # Ported from django tests/template_tests/syntax_tests/test_cache.py
        # CacheTagTests.test_cache04
        e = engine(
            cache03="{% load smartcache %}{% smartcache 2 test %}cache03{% endsmartcache %}",
            cache04="{% load smartcache %}{% smartcache 2 test %}cache04{% endsmartcache %}",
        )
        e.render_to_string("cache03")
        self.assertEqual(
            e.render_to_string("cache04"),
            "cache03",
            "a fragment with the same name must be served from the cache",
        )

    def test_cache05(self):
        # Ported from django tests/template_tests/syntax_tests/test_cache.py
        # CacheTagTests.test_cache05
        e = engine(
            cache05="{% load smartcache %}{% smartcache 2 test foo %}cache05{% endsmartcache %}"
        )
        self.assertEqual(e.render_to_string("cache05", {"foo": 1}), "cache05")

    def test_cache06(self):
        # Ported from django tests/template_tests/syntax_tests/test_cache.py
        # CacheTagTests.test_cache06 (after cache05 with foo=1 filled the cache)
        e = engine(
            cache05="{% load smartcache %}{% smartcache 2 test foo %}cache05{% endsmartcache %}",
            cache06="{% load smartcache %}{% smartcache 2 test foo %}cache06{% endsmartcache %}",
        )
        e.render_to_string("cache05", {"foo": 1})
        self.assertEqual(
            e.render_to_string("cache06", {"foo": 2}),
            "cache06",
            "foo=2 was served the fragment cached for foo=1",
        )

    def test_cache07(self):
        # Ported from django tests/template_tests/syntax_tests/test_cache.py
        # CacheTagTests.test_cache07
        e = engine(
            cache05="{% load smartcache %}{% smartcache 2 test foo %}cache05{% endsmartcache %}",
            cache07="{% load smartcache %}{% smartcache 2 test foo %}cache07{% endsmartcache %}",
        )
        context = {"foo": 1}
        e.render_to_string("cache05", context)
        self.assertEqual(
            e.render_to_string("cache07", context),
            "cache05",
            "the same name and vary_on value must be served from the cache",
        )

    def test_cache08(self):
        # Ported from django tests/template_tests/syntax_tests/test_cache.py
        # CacheTagTests.test_cache08
        """Allow first argument to be a variable."""
        e = engine(
            cache06="{% load smartcache %}{% smartcache 2 test foo %}cache06{% endsmartcache %}",
            cache08="{% load smartcache %}{% smartcache time test foo %}cache08{% endsmartcache %}",
        )
        context = {"foo": 2, "time": 2}
        e.render_to_string("cache06", context)
        self.assertEqual(
            e.render_to_string("cache08", context),
            "cache06",
            "a timeout from a variable must find the same entry",
        )

    def test_cache11(self):
        # Ported from django tests/template_tests/syntax_tests/test_cache.py
        # CacheTagTests.test_cache11
        # Raise exception if we don't have at least 2 args, first one integer.
        e = engine(cache11="{% load smartcache %}{% smartcache %}{% endsmartcache %}")
        with self.assertRaises(TemplateSyntaxError, msg="no arguments must not compile"):
            e.get_template("cache11")

    def test_cache12(self):
        # Ported from django tests/template_tests/syntax_tests/test_cache.py
        # CacheTagTests.test_cache12
        e = engine(cache12="{% load smartcache %}{% smartcache 1 %}{% endsmartcache %}")
        with self.assertRaises(TemplateSyntaxError, msg="a timeout alone must not compile"):
            e.get_template("cache12")

    def test_cache13(self):
        # Ported from django tests/template_tests/syntax_tests/test_cache.py
        # CacheTagTests.test_cache13
        e = engine(cache13="{% load smartcache %}{% smartcache foo bar %}{% endsmartcache %}")
        with self.assertRaises(TemplateSyntaxError, msg="an undefined timeout must fail"):
            e.render_to_string("cache13")

    def test_cache14(self):
        # Ported from django tests/template_tests/syntax_tests/test_cache.py
        # CacheTagTests.test_cache14
        e = engine(cache14="{% load smartcache %}{% smartcache foo bar %}{% endsmartcache %}")
        with self.assertRaises(TemplateSyntaxError, msg="a non-integer timeout must fail"):
            e.render_to_string("cache14", {"foo": "fail"})

    def test_cache15(self):
        # Ported from django tests/template_tests/syntax_tests/test_cache.py
        # CacheTagTests.test_cache15
        e = engine(cache15="{% load smartcache %}{% smartcache foo bar %}{% endsmartcache %}")
        with self.assertRaises(TemplateSyntaxError, msg="a list as timeout must fail"):
            e.render_to_string("cache15", {"foo": []})

    def test_cache16(self):
        # Ported from django tests/template_tests/syntax_tests/test_cache.py
        # CacheTagTests.test_cache16
        """Regression test for #7460: vary_on values with spaces (and an empty fragment)."""
        e = engine(
            cache16="{% load smartcache %}{% smartcache 1 foo bar %}{% endsmartcache %}",
            again="{% load smartcache %}{% smartcache 1 foo bar %}not cached{% endsmartcache %}",
        )
        context = {"foo": "foo", "bar": "with spaces"}
        self.assertEqual(e.render_to_string("cache16", context), "")
        self.assertEqual(
            e.render_to_string("again", context),
            "",
            "an empty fragment varying on a value with spaces must be served from the cache",
        )

    def test_cache17(self):
        # Ported from django tests/template_tests/syntax_tests/test_cache.py
        # CacheTagTests.test_cache17
        """Regression test for #11270: a long vary_on value."""
        e = engine(
            cache17=(
                "{% load smartcache %}{% smartcache 10 long_cache_key poem %}Some Content"
                "{% endsmartcache %}"
            ),
            again=(
                "{% load smartcache %}{% smartcache 10 long_cache_key poem %}Other Content"
                "{% endsmartcache %}"
            ),
        )
        context = {
            "poem": (
                "Oh freddled gruntbuggly/Thy micturations are to me/"
                "As plurdled gabbleblotchits/On a lurgid bee/"
                "That mordiously hath bitled out/Its earted jurtles/"
                "Into a rancid festering/Or else I shall rend thee in the "
                "gobberwarts with my blurglecruncheon/See if I don't."
            ),
        }
        self.assertEqual(e.render_to_string("cache17", context), "Some Content")
        self.assertEqual(
            e.render_to_string("again", context),
            "Some Content",
            "a fragment varying on a long value must be served from the cache",
        )

    def test_cache18(self):
        # Ported from django tests/template_tests/syntax_tests/test_cache.py
        # CacheTagTests.test_cache18
        """Test whitespace in filter arguments."""
        e = engine(
            cache18=(
                '{% load smartcache custom %}{% smartcache 2|noop:"x y" cache18 %}cache18'
                "{% endsmartcache %}"
            )
        )
        self.assertEqual(e.render_to_string("cache18"), "cache18")

    def test_none_timeout(self):
        # Ported from django tests/template_tests/syntax_tests/test_cache.py
        # CacheTagTests.test_none_timeout
        """A timeout of None caches (for SMARTCACHE["TIMEOUT"] here; Django: forever)."""
        e = engine(
            first="{% load smartcache %}{% smartcache None fragment19 %}content{% endsmartcache %}",
            second=(
                "{% load smartcache %}{% smartcache None fragment19 %}not rendered"
                "{% endsmartcache %}"
            ),
        )
        self.assertEqual(e.render_to_string("first"), "content")
        self.assertEqual(e.render_to_string("second"), "content", "a None timeout must still cache")


class CacheTests(TestCase):
    def test_cache_regression_20130(self):
        # Ported from django tests/template_tests/syntax_tests/test_cache.py
        # CacheTests.test_cache_regression_20130
        # Django checks the node's fragment_name; here: the name selects the entry.
        e = engine(
            one="{% load smartcache %}{% smartcache 1 regression_20130 %}foo{% endsmartcache %}",
            two="{% load smartcache %}{% smartcache 1 regression_20130 %}bar{% endsmartcache %}",
            other="{% load smartcache %}{% smartcache 1 regression_20131 %}baz{% endsmartcache %}",
        )
        self.assertEqual(e.render_to_string("one"), "foo")
        self.assertEqual(e.render_to_string("two"), "foo", "the same name must share the entry")
        self.assertEqual(e.render_to_string("other"), "baz", "another name shared the entry")

    def test_cache_fragment_cache(self):
        # Ported from django tests/template_tests/syntax_tests/test_cache.py
        # CacheTests.test_cache_fragment_cache
        # Django prefers a "template_fragments" alias; this tag has no such fallback (see
        # DIFFERENCES.md). The same check with an explicit alias: using= selects another
        # cache, so the same fragment name is not shared across aliases.
        t1 = Engine(libraries=LIBRARIES).from_string(
            "{% load smartcache %}{% smartcache 1 fragment %}foo{% endsmartcache %}"
        )
        t2 = Engine(libraries=LIBRARIES).from_string(
            '{% load smartcache %}{% smartcache 1 fragment using="other" %}bar{% endsmartcache %}'
        )
        ctx = Context()
        self.assertEqual(t1.render(ctx), "foo")
        self.assertEqual(t2.render(ctx), "bar", "using='other' was served the default cache's")
        self.assertEqual(t1.render(ctx), "foo")

    def test_cache_missing_backend(self):
        # Ported from django tests/template_tests/syntax_tests/test_cache.py
        # CacheTests.test_cache_missing_backend
        """A cache that doesn't exist raises TemplateSyntaxError."""
        t = Engine(libraries=LIBRARIES).from_string(
            '{% load smartcache %}{% smartcache 1 backend using="unknown" %}bar{% endsmartcache %}'
        )
        with self.assertRaises(TemplateSyntaxError, msg="an unknown alias must fail"):
            t.render(Context())


class TestMakeTemplateFragmentKey(TestCase):
    """Django checks ``make_template_fragment_key`` strings; here: which vary_on values
    share a fragment entry (the same values) and which do not (any other values)."""

    def render(self, name, vary_on, body):
        args = " ".join(f"v{i}" for i in range(len(vary_on)))
        source = (
            f"{{% load smartcache %}}{{% smartcache 60 {name} {args} %}}{body}{{% endsmartcache %}}"
        )
        context = {f"v{i}": value for i, value in enumerate(vary_on)}
        return Engine(libraries=LIBRARIES).from_string(source).render(Context(context))

    def check(self, name, vary_on, *others):
        self.assertEqual(self.render(name, vary_on, "first"), "first")
        self.assertEqual(
            self.render(name, vary_on, "again"),
            "first",
            f"{name} with vary_on {vary_on!r} was not served from the cache",
        )
        for number, other in enumerate(others):
            self.assertEqual(
                self.render(name, other, f"other{number}"),
                f"other{number}",
                f"vary_on {other!r} was served the fragment cached for {vary_on!r}",
            )

    def test_without_vary_on(self):
        # Ported from django tests/cache/tests.py TestMakeTemplateFragmentKey.test_without_vary_on
        self.check("a.fragment", [], ["x"])
        self.assertEqual(self.render("a.fragmenT", [], "other"), "other", "names are exact")

    def test_with_one_vary_on(self):
        # Ported from django tests/cache/tests.py TestMakeTemplateFragmentKey.test_with_one_vary_on
        self.check("foo", ["abc"], ["abd"], [], ["abc", "abc"])

    def test_with_many_vary_on(self):
        # Ported from django tests/cache/tests.py TestMakeTemplateFragmentKey.test_with_many_vary_on
        self.check("bar", ["abc", "def"], ["def", "abc"], ["abc"], ["abc", "deg"])

    def test_proper_escaping(self):
        # Ported from django tests/cache/tests.py TestMakeTemplateFragmentKey.test_proper_escaping
        self.check("spam", ["abc:def%"], ["abc:def"], ["abc"], ["abc%3Adef%25"])

    def test_with_ints_vary_on(self):
        # Ported from django tests/cache/tests.py TestMakeTemplateFragmentKey.test_with_ints_vary_on
        self.check("foo", [1, 2, 3, 4, 5], [1, 2, 3, 4, 6], [1, 2, 3, 4], [5, 4, 3, 2, 1])

    def test_with_unicode_vary_on(self):
        # Ported from django tests/cache/tests.py
        # TestMakeTemplateFragmentKey.test_with_unicode_vary_on
        self.check("foo", ["42º", "😀"], ["42º", "😁"], ["42o", "😀"])

    def test_long_vary_on(self):
        # Ported from django tests/cache/tests.py TestMakeTemplateFragmentKey.test_long_vary_on
        self.check("foo", ["x" * 10000], ["x" * 9999 + "y"], ["x" * 10001])
