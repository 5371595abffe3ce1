"""Sign-in and account security pages: login (+ second factor), logout, MFA, password,
sessions and personal API tokens.

Thin views: every decision (lockout, throttling, code checks, audit) is made by
``identity.actions.auth``; reads go through ``identity.queries``. ``login()`` is called only
after every factor passed; it cycles the session key, rotates the CSRF token and (through the
``user_logged_in`` receiver in ``identity.middleware``) registers the session.
"""

from __future__ import annotations

import base64
import math
import time
from typing import Any

import qrcode
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from qrcode.image.svg import SvgPathImage

from shuyuan.core.errors import ShuyuanError
from shuyuan.core.forms import add_domain_errors
from shuyuan.core.middleware import client_ip
from shuyuan.core.views import http_errors, render_page, see_other

from .. import actions, queries
from ..actions import auth as auth_actions
from ..actions import tokens as token_actions
from ..forms.auth import (
    ApiTokenForm,
    LoginForm,
    MfaChangeForm,
    PasswordChangeForm,
    SecondFactorForm,
    TotpConfirmForm,
)
from ..middleware import MFA_ENROLMENT_DUE

BACKEND = "shuyuan.identity.backends.IdentifierBackend"
#: Session key of a sign-in whose password passed and whose second factor is awaited.
PENDING_LOGIN = "shuyuan_login_pending"
#: Session key of the TOTP secret being enrolled (not stored in the database until confirmed).
ENROLMENT_SECRET = "shuyuan_mfa_enrolment_secret"  # noqa: S105  # a session key name, not a secret
PENDING_MAX_AGE = 5 * 60
PENDING_MAX_ATTEMPTS = 5


def _ip(request: HttpRequest) -> str | None:
    return client_ip(request)


def _user_agent(request: HttpRequest) -> str:
    return str(request.META.get("HTTP_USER_AGENT", ""))[:255]


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    """``candidate`` if it is a URL on this site, else the home page."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("identity:home")


def _locked_message(retry_after: int) -> str:
    minutes = max(1, math.ceil(retry_after / 60))
    return ngettext(
        "Too many failed sign-in attempts. Try again in %(minutes)d minute.",
        "Too many failed sign-in attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def _finish_login(
    request: HttpRequest, result: auth_actions.LoginResult, next_url: str
) -> HttpResponse:
    """Every factor passed: sign in and go where the account's obligations say."""
    user = result.user
    assert user is not None  # noqa: S101  # only successful results reach here
    request.session.pop(PENDING_LOGIN, None)
    login(request, user, backend=BACKEND)
    if user.must_change_password:
        target = reverse("identity:password_change")
    elif result.outcome == "mfa_enrolment_required":
        target = reverse("identity:mfa_setup")
    else:
        target = _safe_next(request, next_url)
    return see_other(request, target)


# --- sign-in -----------------------------------------------------------------------------------


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """Identifier + password. On success sign in, or hand over to the second-factor page."""
    if request.user.is_authenticated:
        return redirect(_safe_next(request, request.GET.get("next")))
    form = LoginForm(request.POST or None, initial={"next": request.GET.get("next", "")})
    status = 200
    retry_after = 0
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            result = auth_actions.attempt_login(
                identifier=data["identifier"],
                password=data["password"],
                ip=_ip(request),
                user_agent=_user_agent(request),
            )
            if result.outcome in {"ok", "mfa_enrolment_required"}:
                return _finish_login(request, result, data["next"])
            if result.outcome == "mfa_required":
                assert result.user is not None  # noqa: S101  # set for mfa_required
                # A new session key and CSRF token before the half-signed-in state is stored, so a
                # planted session id cannot be used to finish someone else's sign-in.
                request.session.cycle_key()
                rotate_token(request)
                request.session[PENDING_LOGIN] = {
                    "user": result.user.pk,
                    "at": int(time.time()),
                    "next": data["next"],
                    "attempts": 0,
                }
                return see_other(request, reverse("identity:login_mfa"))
            if result.outcome == "locked":
                status, retry_after = 429, result.retry_after
                form.add_error(None, _locked_message(result.retry_after))
            else:
                form.add_error(
                    None,
                    _(
                        "The sign-in details are not correct. Check the account name, mobile "
                        "or ID number, and the password."
                    ),
                )
    response = render(request, "identity/login.html", {"form": form}, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _pending_login(request: HttpRequest) -> dict[str, Any] | None:
    pending = request.session.get(PENDING_LOGIN)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_MAX_AGE:
        request.session.pop(PENDING_LOGIN, None)
        return None
    return pending


@never_cache
@require_http_methods(["GET", "POST"])
def login_mfa(request: HttpRequest) -> HttpResponse:
    """Second factor: a TOTP code or a recovery code. Five wrong codes end the attempt."""
    pending = _pending_login(request)
    if pending is None:
        if request.method == "POST":
            messages.error(request, _("The sign-in has expired. Please sign in again."))
        return redirect("identity:login")
    form = SecondFactorForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            result = auth_actions.complete_mfa_login(
                user_id=pending["user"],
                code=form.cleaned_data["code"],
                ip=_ip(request),
                user_agent=_user_agent(request),
            )
            if result.outcome in {"ok", "mfa_enrolment_required"}:
                return _finish_login(request, result, pending.get("next", ""))
            if result.outcome == "locked":
                request.session.pop(PENDING_LOGIN, None)
                messages.error(request, _locked_message(result.retry_after))
                return see_other(request, reverse("identity:login"))
            pending["attempts"] = int(pending.get("attempts", 0)) + 1
            if pending["attempts"] >= PENDING_MAX_ATTEMPTS:
                request.session.pop(PENDING_LOGIN, None)
                messages.error(request, _("Too many wrong codes. Please sign in again."))
                return see_other(request, reverse("identity:login"))
            request.session[PENDING_LOGIN] = pending
            form.add_error("code", _("The code is not correct."))
    return render(request, "identity/login_mfa.html", {"form": form}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """Sign out (POST only, CSRF-protected); the session's row is marked ended."""
    logout(request)
    return see_other(request, reverse("identity:login"))


# --- multi-factor sign-in ----------------------------------------------------------------------


def qr_code_data_uri(text: str) -> str:
    """``text`` as a QR code in an SVG ``data:`` URI (the CSP allows ``img-src data:``)."""
    image = qrcode.make(text, image_factory=SvgPathImage, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode("ascii")


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _mfa_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    user = request.user
    context: dict[str, Any] = {"recovery_codes": None, **extra}
    if user.has_mfa:  # type: ignore[union-attr]  # login_required: our User
        context.update(
            unused_codes=auth_actions.count_unused_recovery_codes(user),  # type: ignore[arg-type]  # login_required
            mfa_required=actions.mfa_required_for(user),  # type: ignore[arg-type]  # login_required
        )
        context.setdefault("regenerate_form", MfaChangeForm(prefix="regenerate"))
        context.setdefault("disable_form", MfaChangeForm(prefix="disable"))
        return context
    secret = request.session.get(ENROLMENT_SECRET)
    if not secret:
        secret, _uri = auth_actions.begin_totp_enrolment(actor=user)  # type: ignore[arg-type]  # login_required
        request.session[ENROLMENT_SECRET] = secret
    uri = auth_actions.totp_provisioning_uri(user=user, secret=secret)  # type: ignore[arg-type]  # login_required
    context.update(
        secret=_grouped(secret),
        qr_code=qr_code_data_uri(uri),
        enrolment_due=bool(request.session.get(MFA_ENROLMENT_DUE)),
    )
    context.setdefault("confirm_form", TotpConfirmForm())
    return context


def _confirm_enrolment(request: HttpRequest, user: Any) -> HttpResponse:
    form = TotpConfirmForm(request.POST)
    if form.is_valid():
        try:
            codes = auth_actions.confirm_totp_enrolment(
                actor=user,
                secret=request.session.get(ENROLMENT_SECRET, ""),
                code=form.cleaned_data["code"],
            )
        except ShuyuanError as exc:
            add_domain_errors(form, exc)
            if exc.code == "MFA_ENROLMENT_EXPIRED":
                request.session.pop(ENROLMENT_SECRET, None)
        else:
            request.session.pop(ENROLMENT_SECRET, None)
            request.session[MFA_ENROLMENT_DUE] = False
            context = _mfa_context(request, recovery_codes=codes)
            return render(request, "identity/mfa_setup.html", context)
    context = _mfa_context(request, confirm_form=form)
    return render(request, "identity/mfa_setup.html", context, status=422)


def _change_mfa(request: HttpRequest, user: Any, action: str) -> HttpResponse:
    """``regenerate`` recovery codes or ``disable`` MFA, each after re-checking a code."""
    form = MfaChangeForm(request.POST, prefix=action)
    if form.is_valid():
        code = form.cleaned_data["code"]
        try:
            if action == "regenerate":
                codes = auth_actions.regenerate_recovery_codes(actor=user, code=code)
            else:
                auth_actions.disable_mfa(actor=user, user=user, code=code)
        except ShuyuanError as exc:
            add_domain_errors(form, exc)
        else:
            if action == "regenerate":
                context = _mfa_context(request, recovery_codes=codes)
                return render(request, "identity/mfa_setup.html", context)
            messages.success(request, _("Multi-factor sign-in is now switched off."))
            return see_other(request, reverse("identity:mfa_setup"))
    context = _mfa_context(request, **{f"{action}_form": form})
    return render(request, "identity/mfa_setup.html", context, status=422)


@login_required
@http_errors
@never_cache
@require_http_methods(["GET", "POST"])
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """Enrol a TOTP authenticator (QR code + confirm), see recovery codes once, regenerate them
    or switch MFA off. The form posted is named by the ``action`` field."""
    user: Any = request.user
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "confirm" and not user.has_mfa:
            return _confirm_enrolment(request, user)
        if action in {"regenerate", "disable"} and user.has_mfa:
            return _change_mfa(request, user, action)
        return see_other(request, reverse("identity:mfa_setup"))
    return render(request, "identity/mfa_setup.html", _mfa_context(request))


# --- password ----------------------------------------------------------------------------------

#: The action calls the new password ``password``; the form asks for it twice.
_PASSWORD_FIELDS = {"password": "new_password", "current_password": "current_password"}


def _add_password_errors(form: PasswordChangeForm, error: ShuyuanError) -> None:
    for field_error in error.errors:
        form.add_error(_PASSWORD_FIELDS.get(field_error.field), field_error.message)
    if not error.errors:
        form.add_error(None, error.message)


@login_required
@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    """Change one's own password; other sessions are signed out, this one continues."""
    user: Any = request.user
    form = PasswordChangeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                actions.change_password(
                    actor=user,
                    current_password=form.cleaned_data["current_password"],
                    new_password=form.cleaned_data["new_password"],
                )
            except ShuyuanError as exc:
                _add_password_errors(form, exc)
            else:
                old_key = request.session.session_key
                update_session_auth_hash(request, user)
                auth_actions.rotate_session_after_password_change(
                    actor=user,
                    old_session_key=old_key,
                    new_session_key=request.session.session_key or "",
                )
                messages.success(request, _("Your password has been changed."))
                return see_other(request, reverse("identity:home"))
    return render(
        request,
        "identity/password_change.html",
        {"form": form, "forced": user.must_change_password},
        status=status,
    )


# --- sessions ----------------------------------------------------------------------------------


def _sessions_context(request: HttpRequest) -> dict[str, Any]:
    return {
        "sessions": list(queries.list_sessions(request.user)),
        "current_key": request.session.session_key,
    }


@login_required
@never_cache
def sessions(request: HttpRequest) -> HttpResponse:
    """The user's own live sessions, the current one marked; each can be revoked (htmx:
    ``#session-list``)."""
    return render_page(
        request, "identity/sessions.html", _sessions_context(request), partial="session-list"
    )


@login_required
@http_errors
@require_POST
def session_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one of the user's own sessions (someone else's is a 404). Revoking the current
    session signs this browser out."""
    session = queries.access_session(request.user, pk)
    current = session.session_key == request.session.session_key
    auth_actions.revoke_session(actor=request.user, session=session)  # type: ignore[arg-type]  # login_required
    if current:
        logout(request)
        return see_other(request, reverse("identity:login"))
    if getattr(request, "htmx", False):
        return render(request, "identity/sessions.html#session-list", _sessions_context(request))
    messages.success(request, _("The session has been signed out."))
    return see_other(request, reverse("identity:sessions"))


# --- personal API tokens -----------------------------------------------------------------------


@login_required
@http_errors
@never_cache
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """List, create (the raw token is shown once, in this response only) and revoke one's own
    personal API tokens."""
    user: Any = request.user
    form = ApiTokenForm(request.POST or None)
    raw_token = None
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                _token, raw_token = token_actions.create_api_token(
                    actor=user,
                    name=form.cleaned_data["name"],
                    expires_in_days=form.cleaned_data["expires_in_days"],
                )
            except ShuyuanError as exc:
                add_domain_errors(form, exc)
            else:
                status = 201
                form = ApiTokenForm()
    context = {
        "form": form,
        "tokens": list(queries.list_api_tokens(user)),
        "raw_token": raw_token,
        "now": timezone.now(),
    }
    return render(request, "identity/tokens.html", context, status=status)


@login_required
@http_errors
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one of the user's own API tokens (someone else's is a 404)."""
    token = queries.access_api_token(request.user, pk)
    token_actions.revoke_api_token(actor=request.user, token=token)  # type: ignore[arg-type]  # login_required
    messages.success(request, _("The token has been revoked."))
    return see_other(request, reverse("identity:tokens"))


urlpatterns = [
    path("login/", login_view, name="login"),
    path("login/verify/", login_mfa, name="login_mfa"),
    path("logout/", logout_view, name="logout"),
    path("account/mfa/", mfa_setup, name="mfa_setup"),
    path("account/password/", password_change, name="password_change"),
    path("account/sessions/", sessions, name="sessions"),
    path("account/sessions/<int:pk>/revoke/", session_revoke, name="session_revoke"),
    path("account/tokens/", tokens, name="tokens"),
    path("account/tokens/<int:pk>/revoke/", token_revoke, name="token_revoke"),
]
