"""Short, fixed-length index keys for agents, activities and verbs.

Identity in xAPI is an IRI or an Agent's objectType + inverse functional identifier, strings of
up to a few thousand characters. Indexes over tens of millions of statements stay small and
fast when they hold a 128-bit BLAKE2b digest of that string instead (32 hex characters).
"""

from __future__ import annotations

import hashlib


def digest(text: str) -> str:
    """The 32-hex-digit BLAKE2b-128 digest of ``text`` (UTF-8)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def activity_key(activity_id: str) -> str:
    """The key of an activity IRI."""
    return digest("activity|" + activity_id)


def verb_key(verb_id: str) -> str:
    """The key of a verb IRI."""
    return digest("verb|" + verb_id)


def agent_digest(canonical: str) -> str:
    """The key of an agent or identified group, from ``validation.agent_key`` output."""
    return digest("agent|" + canonical)
