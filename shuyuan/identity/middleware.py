"""Session guard: revoked sessions end at once; forced password change and MFA enrolment.

``SessionGuardMiddleware`` runs after ``AuthenticationMiddleware``. For a signed-in user it

1. checks the session's ``UserSession`` row (one indexed query; ``last_seen_at`` is written at
   most once a minute): a missing or revoked row signs the browser out;
2. while ``user.must_change_password`` is set, allows only the password page, sign-out,
   static files and the language switch;
3. while a role requires MFA (``mfa_required_for``) and the user has none, allows only the MFA
   page, sign-out, static files and the language switch. Whether MFA is due is computed at
   sign-in and kept in the session, so a policy change applies from the next sign-in.

Pages get a redirect (htmx requests an ``HX-Redirect``); ``/api/`` paths get the API's JSON
error shape instead.

``connect_signals`` (called from ``IdentityConfig.ready``) registers every session at
``login()`` — also ``Client.force_login`` in tests — and marks it ended at ``logout()``, so no
authenticated session can exist without its row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from shuyuan.core.middleware import client_ip

from .actions import auth as auth_actions
from .actions.accounts import mfa_required_for

#: Session key holding whether MFA enrolment is due (computed at sign-in).
MFA_ENROLMENT_DUE = "shuyuan_mfa_enrolment_due"

API_PREFIX = "/api/"


def mfa_enrolment_due(request: HttpRequest, user: Any) -> bool:
    """Whether ``user`` must enrol in MFA before doing anything else (cached in the session)."""
    if user.has_mfa:
        return False
    due = request.session.get(MFA_ENROLMENT_DUE)
    if due is None:
        due = bool(mfa_required_for(user))
        request.session[MFA_ENROLMENT_DUE] = due
    return bool(due)


def _reverse(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def _i18n_prefix() -> str | None:
    setlang = _reverse("set_language")
    if not setlang:
        return None
    trimmed = setlang.rstrip("/")
    return trimmed[: trimmed.rfind("/") + 1] or None


class SessionGuardMiddleware:
    """Enforce session revocation, forced password change and forced MFA enrolment."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if settings.STATIC_URL and path.startswith(settings.STATIC_URL):
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        if not auth_actions.touch_session(user=user, session_key=request.session.session_key):
            logout(request)
            return self._refuse(
                request,
                code="SESSION_REVOKED",
                message=_("Your session has ended. Please sign in again."),
                status=401,
                to_login=True,
            )
        if user.must_change_password and not self._exempt(path, "identity:password_change"):
            return self._refuse(
                request,
                code="PASSWORD_CHANGE_REQUIRED",
                message=_("You must change your password before you continue."),
                target="identity:password_change",
            )
        if mfa_enrolment_due(request, user) and not self._exempt(path, "identity:mfa_setup"):
            return self._refuse(
                request,
                code="MFA_ENROLMENT_REQUIRED",
                message=_("Your role requires multi-factor sign-in. Please set it up first."),
                target="identity:mfa_setup",
            )
        return self.get_response(request)

    @staticmethod
    def _exempt(path: str, page: str) -> bool:
        """Paths a user with an obligation may still reach: that page, sign-out, language."""
        if path in {_reverse(page), _reverse("identity:logout")}:
            return True
        prefix = _i18n_prefix()
        return bool(prefix and path.startswith(prefix))

    @staticmethod
    def _refuse(
        request: HttpRequest,
        *,
        code: str,
        message: str,
        status: int = 403,
        target: str = "",
        to_login: bool = False,
    ) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            return JsonResponse({"code": code, "message": message, "errors": []}, status=status)
        if to_login:
            location = redirect_to_login(request.get_full_path(), "identity:login")["Location"]
        else:
            location = reverse(target)
        if request.headers.get("HX-Request") == "true":
            response = HttpResponse(status=200)
            response["HX-Redirect"] = location
            return response
        return HttpResponseRedirect(location)


def register_session_on_login(
    sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    """``user_logged_in`` receiver: register the session and note whether MFA enrolment is due."""
    session = getattr(request, "session", None)
    if request is None or session is None:
        return
    if session.session_key is None:
        session.save()
    auth_actions.register_session(
        user=user,
        session_key=session.session_key,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    session[MFA_ENROLMENT_DUE] = bool(not user.has_mfa and mfa_required_for(user))


def end_session_on_logout(
    sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    """``user_logged_out`` receiver: mark the session's row ended."""
    session = getattr(request, "session", None)
    if session is not None:
        auth_actions.end_session(session_key=session.session_key)


def connect_signals() -> None:
    """Connect the session receivers (called once from ``IdentityConfig.ready``)."""
    user_logged_in.connect(register_session_on_login, dispatch_uid="identity.register_session")
    user_logged_out.connect(end_session_on_logout, dispatch_uid="identity.end_session")
