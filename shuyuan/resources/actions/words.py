"""Sensitive-word list writes: a new version of the list, and switching the active version.

A list is never edited in place: each change is a new version (so every finding names the exact
list it was screened against) and exactly one version is active. Region admins and platform
admins hold ``resources.manage_word_list``; the system actor (the ``load_sensitive_words``
command) may load a list too.

Audit codes: ``resources.word_list.created``, ``resources.word_list.activated``.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from shuyuan.core.audit import record_audit
from shuyuan.core.context import change_context
from shuyuan.core.scoping import has_permission

from ..audit.words import format_words, parse_words
from ..errors import FieldError, InvalidInput, PermissionDenied, conflict
from ..models import SensitiveWordList
from .submission import clean_plain_text

LIST_NOTE_MAX = 200


def _require_manage(actor: Any) -> None:
    if getattr(actor, "is_system_actor", False):
        return
    if not has_permission(actor, "resources.manage_word_list"):
        raise PermissionDenied(_("Only region administrators manage the sensitive-word list."))


def _activate(word_list: SensitiveWordList) -> None:
    for other in SensitiveWordList.objects.filter(active=True).exclude(pk=word_list.pk):
        other.active = False
        other.save()
    if not word_list.active:
        word_list.active = True
        word_list.save()


def create_word_list(
    *, actor: Any, words_text: str, note: str = "", activate: bool = True, source: str = "ui"
) -> SensitiveWordList:
    """Save ``words_text`` (one word a line, optional ``|warn``) as the next version of the
    list, normalised and de-duplicated; with ``activate`` it becomes the active list.

    Raises ``PermissionDenied``, ``InvalidInput`` (``WORDS_INVALID`` naming the lines,
    ``WORDS_EMPTY``), ``Conflict`` (``WORD_LIST_VERSION_TAKEN``, a concurrent save).
    """
    _require_manage(actor)
    pairs = parse_words(words_text)
    problems: list[FieldError] = []
    note = clean_plain_text("note", note, LIST_NOTE_MAX, problems)
    if problems:
        raise InvalidInput(_("Some fields need correcting."), errors=problems)
    user = actor if getattr(actor, "pk", None) else None
    try:
        with transaction.atomic(), change_context(actor=actor, source=source):
            number = (SensitiveWordList.objects.aggregate(n=Max("version"))["n"] or 0) + 1
            word_list = SensitiveWordList(
                version=number,
                words=format_words(pairs),
                word_count=len(pairs),
                active=False,
                note=note,
                created_by=user,
            )
            word_list.save(force_insert=True)
            if activate:
                _activate(word_list)
            record_audit(
                "resources.word_list.created",
                actor=actor,
                subject=word_list,
                extra={"version": number, "words": len(pairs), "activated": bool(activate)},
            )
    except IntegrityError as exc:
        raise conflict(
            "WORD_LIST_VERSION_TAKEN", _("Another version was saved meanwhile; try again.")
        ) from exc
    return word_list


def activate_word_list(
    *, actor: Any, word_list: SensitiveWordList, source: str = "ui"
) -> SensitiveWordList:
    """Make ``word_list`` the active version (the others become inactive)."""
    _require_manage(actor)
    with transaction.atomic(), change_context(actor=actor, source=source):
        locked: SensitiveWordList = SensitiveWordList.objects.select_for_update().get(
            pk=word_list.pk
        )
        _activate(locked)
        record_audit(
            "resources.word_list.activated",
            actor=actor,
            subject=locked,
            extra={"version": locked.version},
        )
    return locked
