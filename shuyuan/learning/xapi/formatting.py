"""The ``format`` parameter of GET /statements and the language choice for canonical output.

``format_statement`` returns a new Statement (the stored one is never changed):

* ``exact``: the Statement as stored.
* ``ids``: Agents, Groups, Activities and Verbs reduced to what identifies them. An Agent or
  identified Group keeps objectType and its IFI; an anonymous Group keeps objectType and its
  members (each reduced to objectType and IFI); an Activity keeps objectType (if given) and id;
  a Verb keeps its id.
* ``canonical``: Activity definitions (or the LRS's canonical definition, when the caller passes
  ``activity_definitions``) and Verb displays with every language map reduced to the one entry
  that best fits the Accept-Language preferences, chosen per map (RFC 4647 lookup); Agents as
  in ``exact``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from .validation import CONTEXT_ACTIVITY_KEYS, IFI_KEYS, INTERACTION_COMPONENT_LISTS

FORMATS = ("exact", "ids", "canonical")


def parse_accept_language(header: str) -> list[str]:
    """The language ranges of an Accept-Language header, most preferred first (RFC 7231 5.3.5).

    Ranges are lowercased; ranges with ``q=0`` are dropped; equal weights keep header order;
    a malformed weight counts as 1. ``"da, en-gb;q=0.8, en;q=0.7"`` -> ``["da", "en-gb", "en"]``.
    """
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        fields = [field.strip() for field in part.split(";")]
        language = fields[0].lower()
        if not language or not re.fullmatch(r"\*|[a-z]{1,8}(?:-[a-z0-9]{1,8})*", language):
            continue
        weight = 1.0
        for parameter in fields[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 1.0
        if weight <= 0:
            continue
        ranked.append((-weight, position, language))
    ranked.sort()
    result: list[str] = []
    for _weight, _position, language in ranked:
        if language not in result:
            result.append(language)
    return result


def choose_language(language_map: Mapping[str, str], languages: list[str]) -> str | None:
    """The key of ``language_map`` that best fits ``languages`` (RFC 4647 lookup, per range).

    For each range in order: an exact tag (case-insensitive), then the range truncated one
    subtag at a time (``zh-hant-tw`` -> ``zh-hant`` -> ``zh``), then a tag the range is a
    prefix of (``en`` matches ``en-US``); ``*`` takes the first entry. Without a match the
    fallback is ``und``, then the first entry of the map. ``None`` for an empty map.
    """
    if not language_map:
        return None
    keys = list(language_map)
    lowered = {key.lower(): key for key in keys}
    for wanted in languages:
        wanted = wanted.lower()
        if wanted == "*":
            return keys[0]
        candidate = wanted
        while candidate:
            if candidate in lowered:
                return lowered[candidate]
            candidate = candidate.rpartition("-")[0]
            if len(candidate.rpartition("-")[2]) == 1:  # never end on a singleton (RFC 4647 3.4)
                candidate = candidate.rpartition("-")[0]
        for key_lower, key in lowered.items():
            if key_lower.startswith(wanted + "-"):
                return key
    return lowered.get("und", keys[0])


def _reduce_map(value: object, languages: list[str]) -> object:
    if not isinstance(value, dict) or not value:
        return value
    chosen = choose_language(value, languages)
    return {chosen: value[chosen]} if chosen is not None else value


def _canonical_definition(definition: dict[str, Any], languages: list[str]) -> dict[str, Any]:
    result = dict(definition)
    for key in ("name", "description"):
        if key in result:
            result[key] = _reduce_map(result[key], languages)
    for key in INTERACTION_COMPONENT_LISTS:
        if isinstance(result.get(key), list):
            result[key] = [
                {**component, "description": _reduce_map(component["description"], languages)}
                if isinstance(component, dict) and "description" in component
                else component
                for component in result[key]
            ]
    return result


def _ids_agent(agent: object) -> object:
    if not isinstance(agent, dict):
        return agent
    result: dict[str, Any] = {}
    if "objectType" in agent:
        result["objectType"] = agent["objectType"]
    identified = False
    for key in IFI_KEYS:
        if key in agent:
            result[key] = agent[key]
            identified = True
    if not identified and isinstance(agent.get("member"), list):
        result["member"] = [_ids_agent(member) for member in agent["member"]]
    return result


def _ids_activity(activity: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if "objectType" in activity:
        result["objectType"] = activity["objectType"]
    result["id"] = activity.get("id")
    return result


class _Formatter:
    def __init__(
        self,
        fmt: str,
        languages: list[str],
        activity_definitions: Mapping[str, Mapping[str, Any]] | None,
    ) -> None:
        self.fmt = fmt
        self.languages = languages
        self.activity_definitions = activity_definitions or {}

    def agent(self, agent: object) -> object:
        return _ids_agent(agent) if self.fmt == "ids" else agent

    def activity(self, activity: object) -> object:
        if not isinstance(activity, dict):
            return activity
        if self.fmt == "ids":
            return _ids_activity(activity)
        result = dict(activity)
        stored = self.activity_definitions.get(str(activity.get("id")))
        definition = dict(stored) if stored is not None else result.get("definition")
        if isinstance(definition, dict):
            result["definition"] = _canonical_definition(definition, self.languages)
        return result

    def verb(self, verb: object) -> object:
        if not isinstance(verb, dict):
            return verb
        if self.fmt == "ids":
            return {"id": verb.get("id")}
        result = dict(verb)
        if "display" in result:
            result["display"] = _reduce_map(result["display"], self.languages)
        return result

    def statement_object(self, value: object) -> object:
        if not isinstance(value, dict):
            return value
        object_type = value.get("objectType") or "Activity"
        if object_type == "Activity":
            return self.activity(value)
        if object_type in ("Agent", "Group"):
            return self.agent(value)
        if object_type == "SubStatement":
            sub = self.statement(value)
            if self.fmt == "ids" and isinstance(sub, dict) and isinstance(sub.get("object"), dict):
                inner = sub["object"]
                if (inner.get("objectType") or "Activity") == "Activity":
                    # The suite (XAPI-00171) wants a SubStatement's Activity as its id alone.
                    sub["object"] = {"id": inner.get("id")}
            return sub
        return value

    def context(self, context: dict[str, Any]) -> dict[str, Any]:
        result = dict(context)
        for key in ("instructor", "team"):
            if key in result:
                result[key] = self.agent(result[key])
        activities = result.get("contextActivities")
        if isinstance(activities, dict):
            result["contextActivities"] = {
                key: [self.activity(item) for item in value]
                if isinstance(value, list)
                else [self.activity(value)]
                for key, value in activities.items()
                if key in CONTEXT_ACTIVITY_KEYS
            }
        for key, inner in (("contextAgents", "agent"), ("contextGroups", "group")):
            if isinstance(result.get(key), list):
                result[key] = [
                    {**entry, inner: self.agent(entry[inner])}
                    if isinstance(entry, dict) and inner in entry
                    else entry
                    for entry in result[key]
                ]
        return result

    def statement(self, statement: dict[str, Any]) -> dict[str, Any]:
        result = dict(statement)
        for key in ("actor", "authority"):
            if key in result:
                result[key] = self.agent(result[key])
        if "verb" in result:
            result["verb"] = self.verb(result["verb"])
        if "object" in result:
            result["object"] = self.statement_object(result["object"])
        if isinstance(result.get("context"), dict):
            result["context"] = self.context(result["context"])
        return result


def format_statement(
    stmt: dict[str, Any],
    *,
    fmt: str,
    languages: list[str],
    activity_definitions: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """``stmt`` in the ``fmt`` format ("exact", "ids" or "canonical"), as a new dict.

    ``languages`` is ``parse_accept_language(Accept-Language)``, used by "canonical".
    ``activity_definitions`` (optional, "canonical" only) maps Activity ids to the LRS's
    canonical definition, which replaces the definition carried in the Statement.
    ``ValueError`` for an unknown format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    if fmt == "exact":
        return copy.deepcopy(stmt)
    formatter = _Formatter(fmt, languages, activity_definitions)
    return copy.deepcopy(formatter.statement(stmt))
