"""The language of what the package says to a learner (the exercises' feedback and hints), with Python's gettext.

A Chinese lesson starts with ``course.language("zh")``; from then on :func:`_` returns the Chinese text of every
message marked with it, from the catalog shipped in the package (``locale/zh/LC_MESSAGES/resnext_edu.mo``, compiled
from the ``.po`` beside it by ``python -m resnext_edu.translate``). A message without a translation stays in English.

Mark a message where it is shown, not where it is defined: ``_("Fill in {what} first.").format(what=...)``, never
an f-string (the catalog holds the text with its ``{placeholders}``). A module-level constant is marked with
:func:`N_` (extracted into the catalog, not translated) and passed through :func:`_` when it is shown.
"""

from __future__ import annotations

import gettext
from pathlib import Path

DOMAIN = "resnext_edu"
LOCALE = Path(__file__).resolve().parent / "locale"
ENGLISH = "en"

_state = {"code": ENGLISH, "translations": gettext.NullTranslations()}


def available() -> list[str]:
    """The languages a learner can choose: English and each language with a compiled catalog in :data:`LOCALE`."""
    compiled = sorted(path.parent.parent.name for path in LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))
    return [ENGLISH, *compiled]


def language(code: str | None = None) -> str:
    """Choose the language of the feedback (``"zh"`` or ``"en"``); returns the language in use.

    ``language()`` without an argument only says which language is in use."""
    if code is None:
        return _state["code"]
    choices = available()
    if not isinstance(code, str) or code not in choices:
        raise ValueError(
            f"language({code!r}): the languages of the course are {', '.join(choices)}. "
            f'Try language("zh") for Chinese or language("en") for English.'
        )
    if code == ENGLISH:
        translations = gettext.NullTranslations()
    else:
        translations = gettext.translation(DOMAIN, localedir=LOCALE, languages=[code])
    _state.update(code=code, translations=translations)
    return code


def _(message: str) -> str:
    """``message`` in the language chosen with :func:`language` (English when it has no translation)."""
    return _state["translations"].gettext(message)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog without translating it (a constant translated later with :func:`_`)."""
    return message
