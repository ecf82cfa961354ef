"""Emails speak the employee's language, falling back to the program's default."""

from flows.publish.emails import choose_locale, translations


def test_the_employee_locale_wins_when_plaudit_speaks_it():
    assert choose_locale("fr", "en") == "fr"
    assert choose_locale("fr_CA", "en") == "fr"
    assert choose_locale("fr-BE", None) == "fr"


def test_an_unknown_locale_falls_back_to_the_program_default_then_english():
    assert choose_locale("de", "fr") == "fr"
    assert choose_locale(None, "fr") == "fr"
    assert choose_locale("de", "it") == "en"


def test_every_french_message_is_translated():
    fr = translations("fr")
    assert fr.gettext("Award") == "Récompense"
    assert fr.gettext("%(name)s, your customers noticed") % {"name": "Léa"} == "Léa, vos clients l’ont remarqué"
    assert translations("en").gettext("Award") == "Award"
