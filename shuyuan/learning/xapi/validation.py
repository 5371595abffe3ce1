"""Validation of xAPI Statements and of the values they are made of (xAPI 2.0.0 and 1.0.3).

Pure functions, no database. ``validate_statement`` checks one Statement against the data model
of the negotiated protocol version and raises ``XapiValidationError`` (answered with 400) naming
the first offending property by its path, e.g.
``statements[3].context.contextActivities.parent[0].id``.

Rules, as the specification (xAPI 1.0.3 Part 2; IEEE 9274.1.1-2023 Part 2) and the ADL LRS
conformance suite apply them:

* every object accepts only the properties the specification defines, with their exact case;
  only the keys of ``extensions`` are free (they are IRIs) and only their values may be null;
* no property is null, and no object (language map, result, score, context, ...) is empty,
  except an ``extensions`` object and any extension value;
* strings with a format (IRI, IRL, UUID, mailto IRI, RFC 5646 tag, timestamp, duration) must
  follow it; numbers must be JSON numbers and booleans JSON booleans;
* version-specific: ``contextAgents``/``contextGroups`` exist only in 2.0.0; a 2.0.0 timestamp
  follows RFC 3339 (offset required), a 1.0.3 one ISO 8601 (offset optional, UTC assumed);
  ``version`` is ``1.0[.x]`` (1.0.3) or ``1.0[.x]``/``2.0[.x]`` (2.0.0).

Validation modifies the Statement in one way only: a single Activity given as a
``contextActivities`` value is wrapped in a list (the LRS returns arrays, both versions).
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterable
from typing import Any

V2 = "2.0.0"
V1 = "1.0.3"
VERSIONS = (V2, V1)

VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"

INTERACTION_TYPES = frozenset(
    {
        "true-false",
        "choice",
        "fill-in",
        "long-fill-in",
        "matching",
        "performance",
        "sequencing",
        "likert",
        "numeric",
        "other",
    }
)
INTERACTION_COMPONENT_LISTS = ("choices", "scale", "source", "target", "steps")
CONTEXT_ACTIVITY_KEYS = ("parent", "grouping", "category", "other")
IFI_KEYS = ("mbox", "mbox_sha1sum", "openid", "account")

_STATEMENT_KEYS = frozenset(
    {
        "id",
        "actor",
        "verb",
        "object",
        "result",
        "context",
        "timestamp",
        "stored",
        "authority",
        "version",
        "attachments",
    }
)
_SUBSTATEMENT_KEYS = frozenset(
    {"objectType", "actor", "verb", "object", "result", "context", "timestamp", "attachments"}
)
_AGENT_KEYS = frozenset({"objectType", "name", *IFI_KEYS})
_GROUP_KEYS = _AGENT_KEYS | {"member"}
_ACTIVITY_KEYS = frozenset({"objectType", "id", "definition"})
_DEFINITION_KEYS = frozenset(
    {
        "name",
        "description",
        "type",
        "moreInfo",
        "extensions",
        "interactionType",
        "correctResponsesPattern",
        *INTERACTION_COMPONENT_LISTS,
    }
)
_RESULT_KEYS = frozenset({"score", "success", "completion", "response", "duration", "extensions"})
_SCORE_KEYS = frozenset({"scaled", "raw", "min", "max"})
_CONTEXT_KEYS_V1 = frozenset(
    {
        "registration",
        "instructor",
        "team",
        "contextActivities",
        "revision",
        "platform",
        "language",
        "statement",
        "extensions",
    }
)
_CONTEXT_KEYS_V2 = _CONTEXT_KEYS_V1 | {"contextAgents", "contextGroups"}
_ATTACHMENT_KEYS = frozenset(
    {"usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"}
)

# --- formats -----------------------------------------------------------------------------------

_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_SHA1_RE = re.compile(r"^[0-9a-fA-F]{40}$")
_SHA2_RE = re.compile(r"^(?:[0-9a-fA-F]{56}|[0-9a-fA-F]{64}|[0-9a-fA-F]{96}|[0-9a-fA-F]{128})$")
_MBOX_RE = re.compile(r"^mailto:[^@\s:/?#]+@[^@\s/?#]+$")
_VERSION_V1_RE = re.compile(r"^1\.0(?:\.\d+)?$")
_VERSION_V2_RE = re.compile(r"^(?:1\.0|2\.0)(?:\.\d+)?$")
# RFC 6838 type/subtype, then RFC 7231 parameters.
_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE_RE = re.compile(
    rf'^{_TCHARS}/{_TCHARS}(?:[ \t]*;[ \t]*{_TCHARS}=(?:{_TCHARS}|"(?:[^"\\]|\\.)*"))*[ \t]*$'
)

# RFC 3987 absolute IRI. The characters an IRI may hold outside percent-encodings: unreserved
# (with ucschar and iprivate), gen-delims and sub-delims.
_UCS = (
    "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef"
    "\U00010000-\U0001fffd\U00020000-\U0002fffd\U00030000-\U0003fffd"
    "\U00040000-\U0004fffd\U00050000-\U0005fffd\U00060000-\U0006fffd"
    "\U00070000-\U0007fffd\U00080000-\U0008fffd\U00090000-\U0009fffd"
    "\U000a0000-\U000afffd\U000b0000-\U000bfffd\U000c0000-\U000cfffd"
    "\U000d0000-\U000dfffd\U000e1000-\U000efffd"
)
_PRIVATE = "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
_IUNRESERVED = "A-Za-z0-9\\-._~" + _UCS
_SUB_DELIMS = "!$&'()*+,;="
_PCT = "%[0-9A-Fa-f]{2}"
_IPCHAR = f"(?:[{_IUNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_IRI_RE = re.compile(
    "^(?P<scheme>[A-Za-z][A-Za-z0-9+.\\-]*):"
    f"(?P<hier>(?:{_IPCHAR}|/)*)"
    f"(?:\\?(?P<query>(?:{_IPCHAR}|[/?{_PRIVATE}])*))?"
    f"(?:#(?P<fragment>(?:{_IPCHAR}|[/?])*))?$"
)
_AUTHORITY_RE = re.compile(
    f"^(?:(?:[{_IUNRESERVED}{_SUB_DELIMS}:]|{_PCT})*@)?"
    f"(?P<host>\\[[0-9A-Fa-f:.vV{_SUB_DELIMS}\\-._~]+\\]|(?:[{_IUNRESERVED}{_SUB_DELIMS}]|{_PCT})*)"
    "(?::[0-9]*)?$"
)
_HOST_REQUIRED_SCHEMES = frozenset({"http", "https", "ftp", "ws", "wss"})

# RFC 5646 well-formed language tag (section 2.1), checked case-insensitively.
_LANGTAG_RE = re.compile(
    r"""^(?:
      (?P<langtag>
        (?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4}|[a-z]{5,8})   # language (+ extlang)
        (?:-[a-z]{4})?                                          # script
        (?:-(?:[a-z]{2}|[0-9]{3}))?                             # region
        (?P<variants>(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*)  # variants
        (?P<extensions>(?:-[0-9a-wyz](?:-[a-z0-9]{2,8})+)*)     # extensions
        (?:-x(?:-[a-z0-9]{1,8})+)?                              # private use
      )
      |x(?:-[a-z0-9]{1,8})+                                     # private use only
    )$""",
    re.VERBOSE,
)
_GRANDFATHERED = frozenset(
    {
        "en-gb-oed",
        "i-ami",
        "i-bnn",
        "i-default",
        "i-enochian",
        "i-hak",
        "i-klingon",
        "i-lux",
        "i-mingo",
        "i-navajo",
        "i-pwn",
        "i-tao",
        "i-tay",
        "i-tsu",
        "sgn-be-fr",
        "sgn-be-nl",
        "sgn-ch-de",
        "art-lojban",
        "cel-gaulish",
        "no-bok",
        "no-nyn",
        "zh-guoyu",
        "zh-hakka",
        "zh-min",
        "zh-min-nan",
        "zh-xiang",
    }
)

# ISO 8601:2004 4.4.3.2 durations; a decimal fraction only on the lowest-order component.
_DURATION_RE = re.compile(
    r"^P(?:(?P<weeks>\d+(?:[.,]\d+)?W)|"
    r"(?P<date>(?:\d+(?:[.,]\d+)?Y)?(?:\d+(?:[.,]\d+)?M)?(?:\d+(?:[.,]\d+)?D)?)"
    r"(?:T(?P<time>(?:\d+(?:[.,]\d+)?H)?(?:\d+(?:[.,]\d+)?M)?(?:\d+(?:[.,]\d+)?S)?))?)$"
)

# Timestamps. RFC 3339 (xAPI 2.0.0) and ISO 8601 extended or basic (xAPI 1.0.3).
_RFC3339_RE = re.compile(
    r"^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[Tt ]"
    r"(?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})(?:\.(?P<f>\d+))?"
    r"(?P<tz>[Zz]|[+-]\d{2}:\d{2})$"
)
_ISO8601_RE = re.compile(
    r"^(?:(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[Tt ]"
    r"(?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?"
    r"|(?P<by>\d{4})(?P<bmo>\d{2})(?P<bd>\d{2})[Tt]"
    r"(?P<bh>\d{2})(?P<bmi>\d{2})(?:(?P<bs>\d{2})(?:[.,](?P<bf>\d+))?)?)"
    r"(?P<tz>[Zz]|[+-]\d{2}(?::?\d{2})?)?$"
)


class XapiValidationError(ValueError):
    """A Statement or parameter that breaks the specification; the LRS answers 400.

    ``path`` names the offending value (``statements[3].context.registration``), ``message``
    says what is wrong with it.
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


# --- small helpers -----------------------------------------------------------------------------


def _at(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _fail_type(value: object, path: str, expected: str) -> XapiValidationError:
    return XapiValidationError(path, f"must be {expected}, not {_type_name(value)}")


def _object(
    value: object,
    path: str,
    keys: Iterable[str],
    required: Iterable[str] = (),
    *,
    allow_empty: bool = False,
) -> dict[str, Any]:
    """``value`` as a JSON object with only ``keys``, all ``required`` ones and no null."""
    if not isinstance(value, dict):
        raise _fail_type(value, path, "an object")
    if not value and not allow_empty:
        raise XapiValidationError(path, "must not be an empty object")
    allowed = keys if isinstance(keys, frozenset) else frozenset(keys)
    for key, item in value.items():
        if key not in allowed:
            raise XapiValidationError(_at(path, key), "is not a property allowed here")
        if item is None:
            raise XapiValidationError(_at(path, key), "must not be null")
    for key in required:
        if key not in value:
            raise XapiValidationError(_at(path, key), "is required")
    return value


def _array(value: object, path: str, *, allow_empty: bool = True) -> list[Any]:
    if not isinstance(value, list):
        raise _fail_type(value, path, "an array")
    if not allow_empty and not value:
        raise XapiValidationError(path, "must not be an empty array")
    return value


def _string(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise _fail_type(value, path, "a string")
    return value


def _number(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail_type(value, path, "a number")
    return float(value)


def _boolean(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise _fail_type(value, path, "a boolean")
    return value


# --- formats -----------------------------------------------------------------------------------


def is_iri(value: object) -> bool:
    """True when ``value`` is an absolute IRI (RFC 3987): a scheme, then IRI characters only.

    Where the IRI has an authority (``scheme://``) it must be well formed, and the schemes of
    locators on the web (http, https, ftp, ws, wss) must name a host.
    """
    if not isinstance(value, str) or not value:
        return False
    match = _IRI_RE.match(value)
    if match is None:
        return False
    hier = match.group("hier")
    scheme = match.group("scheme").lower()
    if hier.startswith("//"):
        authority = hier[2:].split("/", 1)[0]
        auth_match = _AUTHORITY_RE.match(authority)
        if auth_match is None:
            return False
        if scheme in _HOST_REQUIRED_SCHEMES and not auth_match.group("host"):
            return False
    elif scheme in _HOST_REQUIRED_SCHEMES:
        return False
    return True


def is_irl(value: object) -> bool:
    """True when ``value`` is an IRL: an IRI meant to be dereferenced (the LRS cannot tell more)."""
    return is_iri(value)


def is_uuid(value: object) -> bool:
    """True when ``value`` is a UUID in the standard string form of RFC 4122 (8-4-4-4-12 hex).

    Any version and variant is accepted (the suite tests only the form); case is free.
    """
    return isinstance(value, str) and _UUID_RE.match(value) is not None


def is_language_tag(value: object) -> bool:
    """True when ``value`` is a well-formed RFC 5646 language tag (a "Language-Tag").

    Checks the syntax of section 2.1 plus the two well-formedness rules of 2.2.5 and 2.2.6:
    no variant and no extension singleton appears twice. Case is free.
    """
    if not isinstance(value, str) or not value:
        return False
    tag = value.lower()
    if tag in _GRANDFATHERED:
        return True
    match = _LANGTAG_RE.match(tag)
    if match is None:
        return False
    if match.group("langtag") is None:
        return True
    variants = [v for v in (match.group("variants") or "").split("-") if v]
    if len(set(variants)) != len(variants):
        return False
    singletons = [part for part in (match.group("extensions") or "").split("-") if len(part) == 1]
    return len(set(singletons)) == len(singletons)


def parse_duration(value: object) -> str:
    """``value`` if it is an ISO 8601 duration in the format xAPI allows, else ``ValueError``.

    The format of ISO 8601:2004 section 4.4.3.2 (``P3Y1M29DT4H35M59.14S``, ``PT16559.14S``,
    ``P4W``; weeks only alone), never the alternative format of 4.4.3.3. At least one component;
    a ``T`` needs a time component after it; a decimal fraction only on the last component.
    The string is returned unchanged: durations are compared as strings.
    """
    if not isinstance(value, str):
        raise ValueError("a duration must be a string")
    match = _DURATION_RE.match(value)
    if match is None:
        raise ValueError("not an ISO 8601 duration")
    body = value[1:]
    if not match.group("weeks"):
        date_part, _, time_part = body.partition("T")
        if "T" in body and not time_part:
            raise ValueError("an ISO 8601 duration needs a time component after T")
        if not date_part and not time_part:
            raise ValueError("an ISO 8601 duration needs at least one component")
    components = re.findall(r"\d+(?:[.,]\d+)?[YMWDHS]", body)
    for component in components[:-1]:
        if "." in component or "," in component:
            raise ValueError("only the last component of a duration may have a fraction")
    return value


def _offset(tz: str | None) -> datetime.timezone:
    if tz is None or tz in ("Z", "z"):
        return datetime.UTC
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4] or "0")
    if sign < 0 and hours == 0 and minutes == 0:
        raise ValueError("the offset -00:00 (unknown local offset) is not allowed")
    if hours > 23 or minutes > 59:
        raise ValueError("invalid time zone offset")
    return datetime.timezone(sign * datetime.timedelta(hours=hours, minutes=minutes))


def parse_timestamp(value: object, *, version: str) -> datetime.datetime:
    """The aware ``datetime`` a Timestamp stands for, or ``ValueError``.

    xAPI 2.0.0: RFC 3339 ``date-time`` (``T``, ``t`` or a space between date and time; seconds
    and an offset are required). xAPI 1.0.3: ISO 8601 extended or basic date and time, seconds
    optional, offset optional (a time without offset is taken as UTC). Both versions reject the
    negative zero offsets ``-00``, ``-0000`` and ``-00:00``. Fractions finer than a microsecond
    are truncated; a leap second (``:60``) counts as the next second.
    """
    _check_version(version)
    if not isinstance(value, str):
        raise ValueError("a timestamp must be a string")
    if version == V2:
        match = _RFC3339_RE.match(value)
        if match is None:
            raise ValueError("not an RFC 3339 date-time")
        parts = match.groupdict()
    else:
        match = _ISO8601_RE.match(value)
        if match is None:
            raise ValueError("not an ISO 8601 date and time")
        groups = match.groupdict()
        if groups["y"] is not None:
            parts = groups
        else:
            parts = {key: groups["b" + key] for key in ("y", "mo", "d", "h", "mi", "s", "f")}
            parts["tz"] = groups["tz"]
    tz = _offset(parts["tz"])
    second = int(parts["s"] or "0")
    leap = second == 60
    fraction = (parts["f"] or "").ljust(6, "0")[:6]
    try:
        moment = datetime.datetime(
            int(parts["y"]),
            int(parts["mo"]),
            int(parts["d"]),
            int(parts["h"]),
            int(parts["mi"]),
            59 if leap else second,
            int(fraction),
            tzinfo=tz,
        )
    except ValueError as exc:
        raise ValueError(f"not a valid date and time: {exc}") from None
    if leap:
        moment += datetime.timedelta(seconds=1)
    return moment


def _check_version(version: str) -> None:
    if version not in VERSIONS:
        raise ValueError(f"unknown xAPI version {version!r}")


# --- typed values inside statements ------------------------------------------------------------


def _iri(value: object, path: str) -> str:
    text = _string(value, path)
    if not is_iri(text):
        raise XapiValidationError(path, "must be an absolute IRI")
    return text


def _irl(value: object, path: str) -> str:
    text = _string(value, path)
    if not is_irl(text):
        raise XapiValidationError(path, "must be an IRL (an absolute IRI)")
    return text


def _uuid(value: object, path: str) -> str:
    text = _string(value, path)
    if not is_uuid(text):
        raise XapiValidationError(path, "must be a UUID")
    return text


def _timestamp(value: object, path: str, version: str) -> None:
    try:
        parse_timestamp(value, version=version)
    except ValueError as exc:
        raise XapiValidationError(path, f"must be a timestamp ({exc})") from None


def validate_language_map(value: object, path: str) -> dict[str, str]:
    """A Language Map: a non-empty object of RFC 5646 tags to strings."""
    if not isinstance(value, dict):
        raise _fail_type(value, path, "a language map (an object)")
    if not value:
        raise XapiValidationError(path, "must not be an empty language map")
    for key, text in value.items():
        if not is_language_tag(key):
            raise XapiValidationError(_at(path, key), "is not an RFC 5646 language tag")
        if not isinstance(text, str):
            raise _fail_type(text, _at(path, key), "a string")
    return value


def _extensions(value: object, path: str) -> None:
    """An Extensions object: IRI keys, any JSON values (null and empty included)."""
    if not isinstance(value, dict):
        raise _fail_type(value, path, "an object")
    for key in value:
        if not is_iri(key):
            raise XapiValidationError(_at(path, key), "extension keys must be absolute IRIs")


# --- agents and groups -------------------------------------------------------------------------


def _account(value: object, path: str) -> None:
    account = _object(value, path, ("homePage", "name"), ("homePage", "name"))
    _irl(account["homePage"], _at(path, "homePage"))
    _string(account["name"], _at(path, "name"))


def _ifis(data: dict[str, Any], path: str) -> list[str]:
    """Check the inverse functional identifiers present in ``data``; return their names."""
    present = [key for key in IFI_KEYS if key in data]
    for key in present:
        where = _at(path, key)
        item = data[key]
        if key == "mbox":
            if not isinstance(item, str) or not _MBOX_RE.match(item):
                raise XapiValidationError(where, "must be a mailto IRI (mailto:email address)")
        elif key == "mbox_sha1sum":
            if not isinstance(item, str) or not _SHA1_RE.match(item):
                raise XapiValidationError(where, "must be the hex SHA-1 of a mailto IRI")
        elif key == "openid":
            _iri(item, where)
        else:
            _account(item, where)
    if len(present) > 1:
        raise XapiValidationError(path, "must use exactly one inverse functional identifier")
    return present


def _agent(data: object, path: str) -> dict[str, Any]:
    agent = _object(data, path, _AGENT_KEYS)
    if "objectType" in agent and agent["objectType"] != "Agent":
        raise XapiValidationError(_at(path, "objectType"), 'must be "Agent"')
    if "name" in agent:
        _string(agent["name"], _at(path, "name"))
    if not _ifis(agent, path):
        raise XapiValidationError(path, "an Agent needs an inverse functional identifier")
    return agent


def _group(data: dict[str, Any], path: str) -> dict[str, Any]:
    group = _object(data, path, _GROUP_KEYS)
    if "name" in group:
        _string(group["name"], _at(path, "name"))
    identified = bool(_ifis(group, path))
    if "member" in group:
        members = _array(group["member"], _at(path, "member"), allow_empty=identified)
        for index, member in enumerate(members):
            where = _at(_at(path, "member"), index)
            if isinstance(member, dict) and member.get("objectType") == "Group":
                raise XapiValidationError(where, "a Group's members must be Agents")
            _agent(member, where)
    elif not identified:
        raise XapiValidationError(
            _at(path, "member"), "an anonymous Group needs members (or use an identifier)"
        )
    return group


def validate_agent(
    data: object, *, version: str, path: str, allow_group: bool = True
) -> dict[str, Any]:
    """An Agent, or (``allow_group``) a Group, as in ``actor``, ``instructor`` or ``object``.

    An Agent has exactly one IFI (mbox, mbox_sha1sum, openid, account) and objectType "Agent"
    or none. A Group has objectType "Group"; an identified Group has one IFI and may list
    members, an anonymous Group has no IFI and at least one member; members are Agents.
    """
    _check_version(version)
    if isinstance(data, dict) and data.get("objectType") == "Group":
        if not allow_group:
            raise XapiValidationError(_at(path, "objectType"), 'must be "Agent" here')
        return _group(data, path)
    if isinstance(data, dict) and "objectType" in data and data["objectType"] != "Agent":
        expected = '"Agent" or "Group"' if allow_group else '"Agent"'
        raise XapiValidationError(_at(path, "objectType"), f"must be {expected}")
    return _agent(data, path)


def _group_only(data: object, path: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _fail_type(data, path, "a Group (an object)")
    if data.get("objectType") != "Group":
        raise XapiValidationError(_at(path, "objectType"), 'must be "Group"')
    return _group(data, path)


def _authority(data: object, path: str, version: str) -> None:
    """An Agent, or an anonymous Group of exactly two Agents (OAuth consumer and user)."""
    agent = validate_agent(data, version=version, path=path)
    if agent.get("objectType") == "Group":
        if any(key in agent for key in IFI_KEYS):
            raise XapiValidationError(path, "an authority Group must be anonymous")
        if len(agent["member"]) != 2:
            raise XapiValidationError(
                _at(path, "member"), "an authority Group has exactly two members"
            )


def agent_key(agent: dict[str, Any]) -> str:
    """The identity of an Agent or identified Group: objectType and IFI in one string.

    ``Agent|mbox|mailto:a@b.c``, ``Agent|mbox_sha1sum|<lowercase hex>``, ``Agent|openid|<iri>``,
    ``Group|account|<homePage>|<name>``. Values are kept as given (the specification compares
    them as given), except the SHA-1 hex, which is lowercased. ``ValueError`` for an anonymous
    Group or anything without an IFI.
    """
    object_type = agent.get("objectType") or "Agent"
    if "mbox" in agent:
        return "{}|mbox|{}".format(object_type, agent["mbox"])
    if "mbox_sha1sum" in agent:
        return "{}|mbox_sha1sum|{}".format(object_type, str(agent["mbox_sha1sum"]).lower())
    if "openid" in agent:
        return "{}|openid|{}".format(object_type, agent["openid"])
    if "account" in agent:
        account = agent["account"]
        return "{}|account|{}|{}".format(object_type, account["homePage"], account["name"])
    raise ValueError("an anonymous Group (or an Agent without identifier) has no identity key")


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate property {key!r}")
        result[key] = value
    return result


def loads_json(raw: str | bytes) -> Any:
    """Parse JSON text strictly: ``ValueError`` on invalid JSON or an object with a duplicate key.

    xAPI (XAPI-00021): "All Statement properties must be used at most one time"; the standard
    parser would keep the last duplicate silently. Also rejects NaN and Infinity.
    """

    def _no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(raw, object_pairs_hook=_reject_duplicate_keys, parse_constant=_no_constant)


def agent_from_param(raw: str, *, version: str, allow_group: bool = True) -> dict[str, Any]:
    """The ``agent`` request parameter (a JSON Agent) validated; ``XapiValidationError("agent")``.

    The parameter names one Agent or identified Group (an anonymous Group cannot be looked up).
    """
    try:
        data = loads_json(raw)
    except ValueError as exc:
        raise XapiValidationError("agent", f"must be a JSON Agent object ({exc})") from None
    agent = validate_agent(data, version=version, path="agent", allow_group=allow_group)
    if not any(key in agent for key in IFI_KEYS):
        raise XapiValidationError("agent", "must be an Agent or an identified Group")
    return agent


# --- activities --------------------------------------------------------------------------------


def _interaction_components(value: object, path: str) -> None:
    components = _array(value, path)
    seen: set[str] = set()
    for index, component in enumerate(components):
        where = _at(path, index)
        item = _object(component, where, ("id", "description"), ("id",))
        component_id = _string(item["id"], _at(where, "id"))
        if not component_id:
            raise XapiValidationError(_at(where, "id"), "must not be empty")
        if component_id in seen:
            raise XapiValidationError(_at(where, "id"), "repeats the id of another component")
        seen.add(component_id)
        if "description" in item:
            validate_language_map(item["description"], _at(where, "description"))


def _definition(value: object, path: str) -> None:
    # An empty definition is allowed (the ADL suite, Data 2.4.4.1.s2): it defines nothing.
    definition = _object(value, path, _DEFINITION_KEYS, allow_empty=True)
    for key in ("name", "description"):
        if key in definition:
            validate_language_map(definition[key], _at(path, key))
    if "type" in definition:
        _iri(definition["type"], _at(path, "type"))
    if "moreInfo" in definition:
        _irl(definition["moreInfo"], _at(path, "moreInfo"))
    if "extensions" in definition:
        _extensions(definition["extensions"], _at(path, "extensions"))
    if "interactionType" in definition:
        interaction = definition["interactionType"]
        if not isinstance(interaction, str) or interaction not in INTERACTION_TYPES:
            raise XapiValidationError(
                _at(path, "interactionType"),
                "must be one of {}".format(", ".join(sorted(INTERACTION_TYPES))),
            )
    if "correctResponsesPattern" in definition:
        where = _at(path, "correctResponsesPattern")
        for index, pattern in enumerate(_array(definition["correctResponsesPattern"], where)):
            _string(pattern, _at(where, index))
    for key in INTERACTION_COMPONENT_LISTS:
        if key in definition:
            _interaction_components(definition[key], _at(path, key))
    uses_interaction = [
        key
        for key in ("correctResponsesPattern", *INTERACTION_COMPONENT_LISTS)
        if key in definition
    ]
    if uses_interaction and "interactionType" not in definition:
        raise XapiValidationError(
            _at(path, "interactionType"),
            f"is required when {uses_interaction[0]} is present",
        )


def _activity(value: object, path: str) -> dict[str, Any]:
    activity = _object(value, path, _ACTIVITY_KEYS, ("id",))
    if "objectType" in activity and activity["objectType"] != "Activity":
        raise XapiValidationError(_at(path, "objectType"), 'must be "Activity"')
    _iri(activity["id"], _at(path, "id"))
    if "definition" in activity:
        _definition(activity["definition"], _at(path, "definition"))
    return activity


def _statement_ref(value: dict[str, Any], path: str) -> None:
    ref = _object(value, path, ("objectType", "id"), ("objectType", "id"))
    if ref["objectType"] != "StatementRef":
        raise XapiValidationError(_at(path, "objectType"), 'must be "StatementRef"')
    _uuid(ref["id"], _at(path, "id"))


# --- statement parts ---------------------------------------------------------------------------


def _verb(value: object, path: str) -> dict[str, Any]:
    verb = _object(value, path, ("id", "display"), ("id",))
    _iri(verb["id"], _at(path, "id"))
    if "display" in verb:
        validate_language_map(verb["display"], _at(path, "display"))
    return verb


_OBJECT_TYPES = ("Activity", "Agent", "Group", "SubStatement", "StatementRef")


def _statement_object(value: object, path: str, version: str, *, in_substatement: bool) -> str:
    """Validate the ``object`` of a Statement; return its objectType."""
    if not isinstance(value, dict):
        raise _fail_type(value, path, "an object")
    object_type = value.get("objectType", "Activity")
    if object_type not in _OBJECT_TYPES:
        raise XapiValidationError(
            _at(path, "objectType"), "must be one of {}".format(", ".join(_OBJECT_TYPES))
        )
    if object_type == "Activity":
        _activity(value, path)
    elif object_type in ("Agent", "Group"):
        validate_agent(value, version=version, path=path)
    elif object_type == "StatementRef":
        _statement_ref(value, path)
    else:
        if in_substatement:
            raise XapiValidationError(
                _at(path, "objectType"), "a SubStatement cannot contain a SubStatement"
            )
        _substatement(value, path, version)
    return str(object_type)


def _result(value: object, path: str) -> None:
    result = _object(value, path, _RESULT_KEYS)
    if "score" in result:
        _score(result["score"], _at(path, "score"))
    for key in ("success", "completion"):
        if key in result:
            _boolean(result[key], _at(path, key))
    if "response" in result:
        _string(result["response"], _at(path, "response"))
    if "duration" in result:
        try:
            parse_duration(result["duration"])
        except ValueError as exc:
            raise XapiValidationError(
                _at(path, "duration"), f"must be an ISO 8601 duration ({exc})"
            ) from None
    if "extensions" in result:
        _extensions(result["extensions"], _at(path, "extensions"))


def _score(value: object, path: str) -> None:
    score = _object(value, path, _SCORE_KEYS)
    numbers = {key: _number(score[key], _at(path, key)) for key in _SCORE_KEYS if key in score}
    scaled = numbers.get("scaled")
    if scaled is not None and not -1 <= scaled <= 1:
        raise XapiValidationError(_at(path, "scaled"), "must be between -1 and 1")
    low, high, raw = numbers.get("min"), numbers.get("max"), numbers.get("raw")
    if low is not None and high is not None and not low < high:
        raise XapiValidationError(_at(path, "min"), "must be less than max")
    if raw is not None and low is not None and raw < low:
        raise XapiValidationError(_at(path, "raw"), "must not be less than min")
    if raw is not None and high is not None and raw > high:
        raise XapiValidationError(_at(path, "raw"), "must not be greater than max")


def _context_activities(value: object, path: str) -> None:
    context_activities = _object(value, path, CONTEXT_ACTIVITY_KEYS)
    for key in list(context_activities):
        where = _at(path, key)
        item = context_activities[key]
        if isinstance(item, dict):
            _activity(item, where)
            context_activities[key] = [item]
            continue
        for index, activity in enumerate(_array(item, where)):
            _activity(activity, _at(where, index))


def _relevant_types(value: object, path: str) -> None:
    for index, iri in enumerate(_array(value, path, allow_empty=False)):
        _iri(iri, _at(path, index))


def _context_agents(value: object, path: str, version: str) -> None:
    for index, item in enumerate(_array(value, path)):
        where = _at(path, index)
        entry = _object(
            item, where, ("objectType", "agent", "relevantTypes"), ("objectType", "agent")
        )
        if entry["objectType"] != "contextAgent":
            raise XapiValidationError(_at(where, "objectType"), 'must be "contextAgent"')
        validate_agent(entry["agent"], version=version, path=_at(where, "agent"), allow_group=False)
        if "relevantTypes" in entry:
            _relevant_types(entry["relevantTypes"], _at(where, "relevantTypes"))


def _context_groups(value: object, path: str) -> None:
    for index, item in enumerate(_array(value, path)):
        where = _at(path, index)
        entry = _object(
            item, where, ("objectType", "group", "relevantTypes"), ("objectType", "group")
        )
        if entry["objectType"] != "contextGroup":
            raise XapiValidationError(_at(where, "objectType"), 'must be "contextGroup"')
        _group_only(entry["group"], _at(where, "group"))
        if "relevantTypes" in entry:
            _relevant_types(entry["relevantTypes"], _at(where, "relevantTypes"))


def _context(value: object, path: str, version: str, object_type: str) -> None:
    keys = _CONTEXT_KEYS_V2 if version == V2 else _CONTEXT_KEYS_V1
    context = _object(value, path, keys)
    if "registration" in context:
        _uuid(context["registration"], _at(path, "registration"))
    if "instructor" in context:
        validate_agent(context["instructor"], version=version, path=_at(path, "instructor"))
    if "team" in context:
        _group_only(context["team"], _at(path, "team"))
    if "contextActivities" in context:
        _context_activities(context["contextActivities"], _at(path, "contextActivities"))
    for key in ("revision", "platform"):
        if key in context:
            _string(context[key], _at(path, key))
            if object_type != "Activity":
                raise XapiValidationError(
                    _at(path, key), "is allowed only when the object is an Activity"
                )
    if "language" in context:
        language = _string(context["language"], _at(path, "language"))
        if not is_language_tag(language):
            raise XapiValidationError(_at(path, "language"), "must be an RFC 5646 language tag")
    if "statement" in context:
        if not isinstance(context["statement"], dict):
            raise _fail_type(context["statement"], _at(path, "statement"), "a StatementRef")
        _statement_ref(context["statement"], _at(path, "statement"))
    if "extensions" in context:
        _extensions(context["extensions"], _at(path, "extensions"))
    if "contextAgents" in context:
        _context_agents(context["contextAgents"], _at(path, "contextAgents"), version)
    if "contextGroups" in context:
        _context_groups(context["contextGroups"], _at(path, "contextGroups"))


def _attachments(value: object, path: str) -> None:
    for index, item in enumerate(_array(value, path)):
        where = _at(path, index)
        attachment = _object(
            item, where, _ATTACHMENT_KEYS, ("usageType", "display", "contentType", "length", "sha2")
        )
        _iri(attachment["usageType"], _at(where, "usageType"))
        validate_language_map(attachment["display"], _at(where, "display"))
        if "description" in attachment:
            validate_language_map(attachment["description"], _at(where, "description"))
        content_type = _string(attachment["contentType"], _at(where, "contentType"))
        if not _MEDIA_TYPE_RE.match(content_type):
            raise XapiValidationError(_at(where, "contentType"), "must be an Internet Media Type")
        length = attachment["length"]
        if isinstance(length, bool) or not isinstance(length, int):
            raise _fail_type(length, _at(where, "length"), "an integer")
        if length < 0:
            raise XapiValidationError(_at(where, "length"), "must not be negative")
        sha2 = _string(attachment["sha2"], _at(where, "sha2"))
        if not _SHA2_RE.match(sha2):
            raise XapiValidationError(_at(where, "sha2"), "must be the hex SHA-2 hash of the data")
        if "fileUrl" in attachment:
            _irl(attachment["fileUrl"], _at(where, "fileUrl"))


def _statement_body(
    data: dict[str, Any], path: str, version: str, *, in_substatement: bool
) -> None:
    """The properties a Statement and a SubStatement share."""
    for key in ("actor", "verb", "object"):
        if key not in data:
            raise XapiValidationError(_at(path, key), "is required")
    validate_agent(data["actor"], version=version, path=_at(path, "actor"))
    _verb(data["verb"], _at(path, "verb"))
    object_type = _statement_object(
        data["object"], _at(path, "object"), version, in_substatement=in_substatement
    )
    if "result" in data:
        _result(data["result"], _at(path, "result"))
    if "context" in data:
        _context(data["context"], _at(path, "context"), version, object_type)
    if "timestamp" in data:
        _timestamp(data["timestamp"], _at(path, "timestamp"), version)
    if "attachments" in data:
        _attachments(data["attachments"], _at(path, "attachments"))


def _substatement(value: dict[str, Any], path: str, version: str) -> None:
    for key in ("id", "stored", "version", "authority"):
        if key in value:
            raise XapiValidationError(_at(path, key), "is not allowed in a SubStatement")
    substatement = _object(value, path, _SUBSTATEMENT_KEYS)
    _statement_body(substatement, path, version, in_substatement=True)


def validate_statement(data: object, *, version: str, path: str = "") -> dict[str, Any]:
    """Check one Statement for the negotiated ``version``; return it, or raise.

    Raises ``XapiValidationError`` (400) naming the first problem. The one change made to
    ``data``: single Activities under ``contextActivities`` become one-element lists.
    """
    _check_version(version)
    statement = _object(data, path, _STATEMENT_KEYS)
    if "id" in statement:
        _uuid(statement["id"], _at(path, "id"))
    _statement_body(statement, path, version, in_substatement=False)
    if "stored" in statement:
        _timestamp(statement["stored"], _at(path, "stored"), version)
    if "authority" in statement:
        _authority(statement["authority"], _at(path, "authority"), version)
    if "version" in statement:
        stated = _string(statement["version"], _at(path, "version"))
        pattern = _VERSION_V2_RE if version == V2 else _VERSION_V1_RE
        if not pattern.match(stated):
            allowed = '"1.0", "1.0.x", "2.0" or "2.0.x"' if version == V2 else '"1.0" or "1.0.x"'
            raise XapiValidationError(_at(path, "version"), f"must be {allowed}")
    if statement["verb"]["id"] == VOIDED_VERB:
        target = statement["object"]
        if target.get("objectType") != "StatementRef":
            raise XapiValidationError(
                _at(_at(path, "object"), "objectType"),
                'a voiding Statement\'s object must be a "StatementRef"',
            )
    return statement


def validate_statement_batch(data: object, *, version: str) -> list[dict[str, Any]]:
    """A POSTed body: one Statement or an array of them (an empty array is allowed).

    Paths are ``statements[i]...`` for arrays and ``statement...`` for a single object. Two
    Statements with the same id in one batch are rejected (xAPI: the LRS SHOULD* answer 400).
    """
    _check_version(version)
    if isinstance(data, dict):
        return [validate_statement(data, version=version, path="statement")]
    if not isinstance(data, list):
        raise _fail_type(data, "statements", "a Statement or an array of Statements")
    seen: dict[str, int] = {}
    for index, item in enumerate(data):
        where = _at("statements", index)
        validate_statement(item, version=version, path=where)
        statement_id = item.get("id")
        if statement_id is not None:
            lowered = statement_id.lower()
            if lowered in seen:
                raise XapiValidationError(
                    _at(where, "id"), f"repeats the id of statements[{seen[lowered]}]"
                )
            seen[lowered] = index
    return data


# --- statement comparison ----------------------------------------------------------------------


def _canonical_agent(agent: object) -> object:
    if not isinstance(agent, dict):
        return agent
    result: dict[str, Any] = dict(agent)
    result["objectType"] = agent.get("objectType") or "Agent"
    mbox = result.get("mbox")
    if isinstance(mbox, str) and "@" in mbox:
        local, _, domain = mbox.rpartition("@")
        scheme, _, address = local.partition(":")
        result["mbox"] = f"{scheme.lower()}:{address}@{domain.lower()}"
    if isinstance(result.get("mbox_sha1sum"), str):
        result["mbox_sha1sum"] = result["mbox_sha1sum"].lower()
    if isinstance(result.get("member"), list):
        members = [_canonical_agent(member) for member in result["member"]]
        result["member"] = sorted(
            members, key=lambda member: json.dumps(member, sort_keys=True, ensure_ascii=False)
        )
    return result


def _canonical_activity(activity: object) -> object:
    if not isinstance(activity, dict):
        return activity
    return {"objectType": activity.get("objectType") or "Activity", "id": activity.get("id")}


def _canonical_ref(ref: object) -> object:
    if isinstance(ref, dict) and isinstance(ref.get("id"), str):
        return {**ref, "id": ref["id"].lower()}
    return ref


def _canonical_body(statement: dict[str, Any], timestamps: bool) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in statement.items():
        if key in ("authority", "stored", "version"):
            continue
        if key == "id" and isinstance(value, str):
            result[key] = value.lower()
        elif key == "actor":
            result[key] = _canonical_agent(value)
        elif key == "verb" and isinstance(value, dict):
            result[key] = {"id": value.get("id")}
        elif key == "object":
            result[key] = _canonical_object(value)
        elif key == "context" and isinstance(value, dict):
            result[key] = _canonical_context(value)
        elif key == "timestamp":
            if timestamps:
                result[key] = _instant(value)
        elif key == "result" and isinstance(value, dict) and isinstance(value.get("duration"), str):
            result[key] = {**value, "duration": _duration_to_hundredths(value["duration"])}
        elif key == "attachments" and isinstance(value, list):
            result[key] = [
                {**item, "sha2": item["sha2"].lower()}
                if isinstance(item, dict) and isinstance(item.get("sha2"), str)
                else item
                for item in value
            ]
        else:
            result[key] = value
    return result


_SECONDS_FRACTION = re.compile(r"(\d+)[.,](\d+)S$")


def _duration_to_hundredths(duration: str) -> str:
    """A duration with its seconds cut to 0.01 s: "any precision beyond 0.01 second shall not
    be included in the comparison" (xAPI Data 4.6 / 2.0.0 §5.4)."""
    match = _SECONDS_FRACTION.search(duration)
    if match is None:
        return duration
    hundredths = (match.group(2) + "00")[:2].rstrip("0")
    seconds = match.group(1) + ("." + hundredths if hundredths else "")
    return duration[: match.start()] + seconds + "S"


def _canonical_object(value: object) -> object:
    if not isinstance(value, dict):
        return value
    object_type = value.get("objectType") or "Activity"
    if object_type == "Activity":
        return _canonical_activity(value)
    if object_type in ("Agent", "Group"):
        return _canonical_agent(value)
    if object_type == "StatementRef":
        return _canonical_ref(value)
    return _canonical_body(value, timestamps=True)


def _canonical_context(context: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = dict(context)
    if isinstance(context.get("registration"), str):
        result["registration"] = context["registration"].lower()
    for key in ("instructor", "team"):
        if key in context:
            result[key] = _canonical_agent(context[key])
    if isinstance(context.get("language"), str):
        result["language"] = context["language"].lower()
    if "statement" in context:
        result["statement"] = _canonical_ref(context["statement"])
    activities = context.get("contextActivities")
    if isinstance(activities, dict):
        result["contextActivities"] = {
            key: [
                _canonical_activity(item)
                for item in (value if isinstance(value, list) else [value])
            ]
            for key, value in activities.items()
        }
    for key, inner in (("contextAgents", "agent"), ("contextGroups", "group")):
        entries = context.get(key)
        if isinstance(entries, list):
            result[key] = [
                {**entry, inner: _canonical_agent(entry.get(inner))}
                if isinstance(entry, dict)
                else entry
                for entry in entries
            ]
    return result


def _instant(value: object) -> object:
    """A timestamp as the instant it names (either protocol version's syntax)."""
    for version in VERSIONS:
        try:
            return parse_timestamp(value, version=version)
        except ValueError:
            continue
    return value


def statements_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two Statements match under the Statement Comparison Requirements.

    Differences that the exceptions to Statement immutability allow are ignored: the properties
    the LRS assigns (authority, stored, version; timestamp when one side lacks it), Activity
    Definitions and Verb displays, the serialization of timestamps (compared as instants), the
    order of a Group's members, the case of case-insensitive values (UUIDs, SHA hashes, the
    scheme and domain of an mbox, language tags), absent objectType defaults, and a single
    context Activity versus a one-element list, and result durations beyond 0.01 s. Everything
    else is compared as given.
    """
    timestamps = "timestamp" in a and "timestamp" in b
    return _canonical_body(a, timestamps) == _canonical_body(b, timestamps)
