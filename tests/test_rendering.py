"""The recognition message's rendering, without a database: languages, escaping, program templates."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError

from flows.publish.emails import RecognitionRenderer


def row(**changes: object) -> dict:
    base = {"program_definition": {"title": "Stars & <Co>", "communications": {"default_locale": "en"}},
            "locale": "en", "full_name": "<b>Bob</b> Builder", "period": "2026-10", "points": 12, "amount_minor": 1050,
            "currency": "EUR", "balance": 40, "manager_name": "Mo <i>Manager</i> 100%", "tier_name": None,
            "next_tier_name": None, "points_to_next_tier": None,
            "quotes": [{"text": "<script>x()</script> ask jo@example.com", "customer": None, "kind": "csat",
                        "score": 5, "channel": "email"}]}
    return {**base, **changes}


def test_names_in_translated_sentences_are_escaped_in_html_and_left_as_they_are_in_text():
    renderer = RecognitionRenderer()
    subject, text, html = renderer.render(row())
    assert subject == "<b>Bob</b>, your customers noticed"  # a header: not HTML
    assert "&lt;b&gt;Bob&lt;/b&gt;, your customers noticed." in html and "<b>Bob</b>" not in html
    assert "Your manager: Mo &lt;i&gt;Manager&lt;/i&gt; 100%" in html
    assert "Stars &amp; &lt;Co&gt;" in html and "<Co>" not in html
    assert "&lt;script&gt;" in html and "<script>" not in html and "[email removed]" in html
    assert "<b>Bob</b>, your customers noticed." in text and "Your manager: Mo <i>Manager</i> 100%" in text
    assert "Sent by Stars & <Co> because" in text


def test_one_renderer_keeps_each_message_in_its_own_language():
    """Messages in English and French, one after another, through one renderer: each in its language."""
    renderer = RecognitionRenderer()
    for locale in ("fr", "en", "fr", "de", "fr"):
        subject, text, html = renderer.render(row(locale=locale))
        if locale == "fr":
            assert subject == "<b>Bob</b>, vos clients l’ont remarqué"
            assert "Solde" in html and "Votre responsable : Mo &lt;i&gt;Manager&lt;/i&gt; 100%" in html
            assert "Balance" not in text and '<html lang="fr">' in html
        else:  # German is not translated: the program's default, English
            assert subject == "<b>Bob</b>, your customers noticed"
            assert "Balance" in html and "Solde" not in text and '<html lang="en">' in html


def test_a_program_template_translates_and_escapes_in_the_sandbox(tmp_path: Path):
    """A program's own template, with `_()` and a `{% trans %}` block, in French: translated, its
    variables escaped; and what the sandbox forbids is still refused."""
    (tmp_path / "recognition.html.j2").write_text(
        '{% extends "_base.html.j2" %}{% block body %}<p>{{ _("Balance") }}</p>'
        "<p>{% trans name=first_name %}{{ name }}, your customers noticed{% endtrans %}</p>"
        "<p>{% trans %}Balance{% endtrans %} 100%</p>{% endblock %}")
    renderer = RecognitionRenderer(str(tmp_path))
    _, text, html = renderer.render(row(locale="fr"))
    assert "<p>Solde</p>" in html and "<p>Solde 100%</p>" in html
    assert "<p>&lt;b&gt;Bob&lt;/b&gt;, vos clients l’ont remarqué</p>" in html
    assert "Solde" in text  # the shipped text template, in French

    (tmp_path / "recognition.txt.j2").write_text("{{ first_name.__class__.__mro__ }}")
    with pytest.raises(SecurityError):
        RecognitionRenderer(str(tmp_path)).render(row())


def test_literals_are_translated_when_compiled_and_the_rest_when_rendered():
    """`_("a literal")` is translated once, when the template is compiled (its code holds the
    translation, not a call); `_()` of a variable is translated when rendered; both escape the same."""
    from flows.publish.emails import environment

    env = environment(None, "fr")
    source = '{{ _("Your manager: %(name)s", name=n) }}|{{ _("Balance") }}|{{ _(word) }}|{{ _("100%%") }}'
    code = env.compile(source, raw=True)
    assert "Votre responsable" in code and "Solde" in code and "Balance" not in code
    html = env.from_string(source).render(n="<i>Mo</i>", word="Balance")
    assert html == "Votre responsable : &lt;i&gt;Mo&lt;/i&gt;|Solde|Solde|100%"
    assert environment(None).from_string(source).render(n="Mo", word="Balance") == "Your manager: Mo|Balance|Balance|100%"
