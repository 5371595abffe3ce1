"""The IRIs the platform uses when it reports its own events to the LRS."""

from __future__ import annotations

from .. import conf

VERB_VIEWED = "http://id.tincanapi.com/verb/viewed"
VERB_DOWNLOADED = "http://id.tincanapi.com/verb/downloaded"
VERB_COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
VERB_ANSWERED = "http://adlnet.gov/expapi/verbs/answered"

#: The verb of each kind of resource use (``resources.choices.UsageKind``), with its display.
USAGE_VERBS = {
    "view": (VERB_VIEWED, "viewed"),
    "download": (VERB_DOWNLOADED, "downloaded"),
    "complete": (VERB_COMPLETED, "completed"),
}

ACTIVITY_TYPE_RESOURCE = "http://adlnet.gov/expapi/activities/media"
ACTIVITY_TYPE_INTERACTION = "http://adlnet.gov/expapi/activities/cmi.interaction"
ACTIVITY_TYPE_ASSESSMENT = "http://adlnet.gov/expapi/activities/assessment"


def resource_activity_id(resource_id: int) -> str:
    """The activity IRI of a digital resource: ``<homePage>resources/<id>``."""
    return f"{_base()}resources/{resource_id}"


def item_activity_id(identifier: object) -> str:
    """The activity IRI of an item-bank question: ``<homePage>xapi/activities/item/<identifier>``
    (its stable QTI identifier, the same for every version and paper)."""
    return f"{_base()}xapi/activities/item/{identifier}"


def assessment_activity_id(assessment_id: int) -> str:
    """The activity IRI of an exam published to a class:
    ``<homePage>xapi/activities/assessment/<id>``."""
    return f"{_base()}xapi/activities/assessment/{assessment_id}"


def extension_id(name: str) -> str:
    """The IRI of one of the platform's xAPI extensions: ``<homePage>xapi/extensions/<name>``."""
    return f"{_base()}xapi/extensions/{name}"


def _base() -> str:
    base = str(conf.get("LEARNING_XAPI_ACCOUNT_HOMEPAGE"))
    return base if base.endswith("/") else base + "/"
