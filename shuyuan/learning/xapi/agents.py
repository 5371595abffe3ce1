"""The xAPI agents that stand for platform accounts."""

from __future__ import annotations

from typing import Any

from .. import conf
from .keys import agent_digest


def account_agent(user: Any) -> dict[str, Any]:
    """The Agent of a platform account: its account name under the platform's homePage.

    No real name: learning records of minors carry only the account identifier.
    """
    return {
        "objectType": "Agent",
        "account": {"homePage": conf.get("LEARNING_XAPI_ACCOUNT_HOMEPAGE"), "name": user.username},
    }


def account_canonical(homepage: str, name: str) -> str:
    """The canonical identity string of an Agent with an account (as ``validation.agent_key``)."""
    return f"Agent|account|{homepage}|{name}"


def account_agent_key(user: Any) -> str:
    """The index key of a platform account's Agent (``Statement.actor_key``)."""
    return agent_digest(
        account_canonical(conf.get("LEARNING_XAPI_ACCOUNT_HOMEPAGE"), user.username)
    )
