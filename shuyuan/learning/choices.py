"""Choices of the learning app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DocumentKind(models.TextChoices):
    STATE = "state", _("State")
    ACTIVITY_PROFILE = "activity_profile", _("Activity profile")
    AGENT_PROFILE = "agent_profile", _("Agent profile")


class LrsScope(models.TextChoices):
    """The xAPI OAuth scopes (xAPI 1.0.3 §4.2 / 2.0.0 Part 3 §4)."""

    STATEMENTS_WRITE = "statements/write", _("Write statements")
    STATEMENTS_READ_MINE = "statements/read/mine", _("Read own statements")
    STATEMENTS_READ = "statements/read", _("Read statements")
    STATE = "state", _("Read and write state")
    DEFINE = "define", _("Define activities")
    PROFILE = "profile", _("Read and write profiles")
    ALL_READ = "all/read", _("Read everything")
    ALL = "all", _("Everything")
