"""The detail filter renders audit details as plain text, escaped by the template."""

from django.template import Context, Template

from shuyuan.resources.templatetags.resources_tags import detail_value


def test_detail_value_joins_lists_and_mappings():
    assert detail_value(["edition", "chapter"]) == "edition, chapter"
    assert detail_value({"word": "x", "count": 2}) == "word: x; count: 2"
    assert detail_value(None) == ""
    assert detail_value(0.5) == "0.5"


def test_detail_value_output_is_escaped():
    template = Template("{% load resources_tags %}{{ value|detail_value }}")
    html = template.render(Context({"value": ["<script>", "ok"]}))
    assert html == "&lt;script&gt;, ok"
