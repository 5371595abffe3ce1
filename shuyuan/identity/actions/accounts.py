"""Write use cases for accounts and role assignments."""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from shuyuan.core import validators
from shuyuan.core.audit import record_audit
from shuyuan.core.context import change_context
from shuyuan.core.crypto import mask_id_number, mask_mobile
from shuyuan.core.errors import Conflict, FieldError, InvalidInput, PermissionDenied, invalid
from shuyuan.core.models import Org, OrgKind
from shuyuan.core.scoping import can

from .. import permissions
from ..models import ApiToken, Role, RoleAssignment, RolePolicy, User, UserSession
from ..pii import pii_cipher

USERNAME_RE = re.compile(r"^[A-Za-z0-9._-]{3,64}$")
ID_PURPOSE = "id_number"
MOBILE_PURPOSE = "mobile"


def id_number_index(value: str) -> str:
    """The blind index of a (normalised) resident ID number."""
    return pii_cipher().blind_index(validators.normalize_identifier(value), ID_PURPOSE)


def mobile_index(value: str) -> str:
    return pii_cipher().blind_index(value, MOBILE_PURPOSE)


def _clean_username(username: str) -> str:
    username = (username or "").strip()
    if not USERNAME_RE.fullmatch(username):
        raise invalid(
            "username",
            "INVALID_USERNAME",
            _("An account name has 3 to 64 letters, digits, dots, underscores or hyphens."),
        )
    if username.isdigit():
        # Digit-only names would be ambiguous with mobile and ID numbers at login.
        raise invalid(
            "username", "INVALID_USERNAME", _("An account name cannot consist of digits only.")
        )
    return username


def _clean_real_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise invalid("real_name", "REQUIRED", _("The real name is required."))
    if len(name) > 64:
        raise invalid("real_name", "TOO_LONG", _("The real name must be at most 64 characters."))
    return name


def _apply_id_number(user: User, value: str | None) -> None:
    if not value:
        user.id_number_cipher = None
        user.id_number_index = None
        user.id_number_masked = ""
        return
    try:
        info = validators.validate_id_number(value)
    except validators.IdentifierError as exc:
        raise invalid("id_number", exc.code, exc.message) from exc
    index = id_number_index(info.number)
    clash = User.objects.filter(id_number_index=index).exclude(pk=user.pk).exists()
    if clash:
        raise Conflict(
            _("An account with this ID number already exists (one person, one account)."),
            code="DUPLICATE_ID_NUMBER",
            field="id_number",
        )
    user.id_number_cipher = pii_cipher().encrypt(info.number)
    user.id_number_index = index
    user.id_number_masked = mask_id_number(info.number)
    user.birth_date = info.birth_date
    user.gender = info.gender


def _apply_mobile(user: User, value: str | None) -> None:
    if not value:
        user.mobile_cipher = None
        user.mobile_index = None
        user.mobile_masked = ""
        return
    try:
        mobile = validators.validate_mobile(value)
    except validators.IdentifierError as exc:
        raise invalid("mobile", exc.code, exc.message) from exc
    index = mobile_index(mobile)
    if User.objects.filter(mobile_index=index).exclude(pk=user.pk).exists():
        raise Conflict(
            _("Another account already uses this mobile number."),
            code="DUPLICATE_MOBILE",
            field="mobile",
        )
    user.mobile_cipher = pii_cipher().encrypt(mobile)
    user.mobile_index = index
    user.mobile_masked = mask_mobile(mobile)


def _clean_email(email: str) -> str:
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise invalid("email", "INVALID_EMAIL", _("Enter a valid email address.")) from exc
    return email


def check_password_policy(password: str, user: User) -> None:
    """Raise ``InvalidInput`` (``WEAK_PASSWORD``, one error per failed rule) if ``password``
    breaks the password policy."""
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput(
            exc.messages[0],
            code="WEAK_PASSWORD",
            errors=[FieldError("password", "WEAK_PASSWORD", m) for m in exc.messages],
        ) from exc


def _integrity_conflict(exc: IntegrityError) -> Conflict:
    text = str(exc).lower()
    if "username" in text:
        return Conflict(
            _("This account name is already taken."), code="DUPLICATE_USERNAME", field="username"
        )
    if "id_number" in text:
        return Conflict(
            _("An account with this ID number already exists (one person, one account)."),
            code="DUPLICATE_ID_NUMBER",
            field="id_number",
        )
    if "mobile" in text:
        return Conflict(
            _("Another account already uses this mobile number."),
            code="DUPLICATE_MOBILE",
            field="mobile",
        )
    return Conflict(_("This account conflicts with an existing one."))


def create_user(
    *,
    actor: Any,
    username: str,
    real_name: str,
    home_org: Org | None,
    id_number: str | None = None,
    mobile: str | None = None,
    email: str = "",
    password: str | None = None,
    must_change_password: bool = True,
    source: str = "ui",
) -> User:
    """Register a person's one account under ``home_org``.

    The ID number is validated (GB 11643), encrypted and indexed; a second account for the same
    ID number raises ``Conflict`` (``DUPLICATE_ID_NUMBER``). ``password`` is checked against the
    password policy; without one the account cannot log in until an admin resets it.
    """
    if home_org is None:
        if not getattr(actor, "is_platform_admin", False):
            raise invalid("home_org", "REQUIRED", _("Choose the organisation for this account."))
    elif not can(actor, "change", home_org):
        raise PermissionDenied(_("You cannot register accounts under %(org)s.") % {"org": home_org})
    user = User(
        username=_clean_username(username),
        real_name=_clean_real_name(real_name),
        email=_clean_email(email),
        home_org=home_org,
        must_change_password=must_change_password,
    )
    if User.objects.filter(username=user.username).exists():
        raise Conflict(
            _("This account name is already taken."), code="DUPLICATE_USERNAME", field="username"
        )
    _apply_id_number(user, id_number)
    _apply_mobile(user, mobile)
    if password:
        check_password_policy(password, user)
        user.set_password(password)
        user.password_changed_at = timezone.now()
    else:
        user.set_unusable_password()
    try:
        with transaction.atomic(), change_context(actor=actor, source=source):
            user.save(force_insert=True)
    except IntegrityError as exc:
        raise _integrity_conflict(exc) from exc
    return user


_UNSET: Any = object()


def update_user(
    *,
    actor: Any,
    user: User,
    real_name: str | None = None,
    id_number: str | None = _UNSET,
    mobile: str | None = _UNSET,
    email: str | None = None,
    is_active: bool | None = None,
    home_org: Org | None = _UNSET,
    source: str = "ui",
) -> User:
    """Correct an account's real-name data or (de)activate it. Needs ``change`` on the account.

    Deactivating an account also revokes its sessions.
    """
    if not can(actor, "change", user):
        raise PermissionDenied()
    fields: set[str] = set()
    if real_name is not None:
        user.real_name = _clean_real_name(real_name)
        fields.add("real_name")
    if id_number is not _UNSET:
        _apply_id_number(user, id_number)
        fields |= {
            "id_number_cipher",
            "id_number_index",
            "id_number_masked",
            "birth_date",
            "gender",
        }
    if mobile is not _UNSET:
        _apply_mobile(user, mobile)
        fields |= {"mobile_cipher", "mobile_index", "mobile_masked"}
    if email is not None:
        user.email = _clean_email(email)
        fields.add("email")
    if home_org is not _UNSET:
        if home_org is None and not getattr(actor, "is_platform_admin", False):
            # Detaching an account from every org would take it out of its admins' reach.
            raise invalid("home_org", "REQUIRED", _("Choose the organisation for this account."))
        if home_org is not None and not can(actor, "change", home_org):
            raise PermissionDenied()
        user.home_org = home_org
        fields.add("home_org")
    if is_active is not None and is_active != user.is_active:
        if user.pk == getattr(actor, "pk", None) and not is_active:
            raise invalid("is_active", "SELF_DEACTIVATION", _("You cannot deactivate yourself."))
        user.is_active = is_active
        fields.add("is_active")
    if not fields:
        return user
    try:
        with transaction.atomic(), change_context(actor=actor, source=source):
            user.save(update_fields=sorted(fields))
            if "is_active" in fields and not user.is_active:
                _revoke_all_sessions(user)
    except IntegrityError as exc:
        raise _integrity_conflict(exc) from exc
    return user


def reveal_pii(*, actor: Any, user: User, field: str) -> str:
    """Return the plaintext ID number or mobile of ``user`` and record who looked.

    Needs ``reveal_pii`` on the account; every reveal writes ``identity.pii.revealed``.
    """
    if field not in {"id_number", "mobile"}:
        raise invalid("field", "INVALID_CHOICE", _("Unknown personal data field."))
    if not can(actor, "reveal_pii", user):
        with transaction.atomic():
            record_audit(
                "identity.pii.denied",
                actor=actor,
                subject=user,
                org_path=user.changelog_org_path(),
                extra={"field": field},
            )
        raise PermissionDenied(_("You may not see this person's full personal data."))
    blob = user.id_number_cipher if field == "id_number" else user.mobile_cipher
    if not blob:
        return ""
    value = pii_cipher().decrypt(bytes(blob))
    with transaction.atomic():
        record_audit(
            "identity.pii.revealed",
            actor=actor,
            subject=user,
            org_path=user.changelog_org_path(),
            extra={"field": field},
        )
    return value


def _check_assignment(role: str, org: Org | None, child: User | None) -> None:
    if role not in Role.values:
        raise invalid("role", "INVALID_CHOICE", _("Unknown role."))
    kinds = permissions.ROLE_ORG_KINDS[role]
    if not kinds:
        if org is not None:
            raise invalid("org", "NOT_APPLICABLE", _("This role is platform-wide."))
    elif org is None or org.kind not in kinds:
        raise invalid(
            "org",
            "ROLE_ORG_KIND",
            _("This role can only be held on: %(kinds)s.")
            % {
                "kinds": pgettext("list separator", ", ").join(str(OrgKind(k).label) for k in kinds)
            },
        )
    if role == Role.PARENT:
        if child is None:
            raise invalid("child", "REQUIRED", _("A parent role must name the child."))
        if not child.role_assignments.filter(role=Role.STUDENT).exists():
            raise invalid("child", "NOT_A_STUDENT", _("The child must hold a student role."))
    elif child is not None:
        raise invalid("child", "NOT_APPLICABLE", _("Only a parent role names a child."))


def grant_role(
    *,
    actor: Any,
    user: User,
    role: str,
    org: Org | None = None,
    child: User | None = None,
    source: str = "ui",
) -> RoleAssignment:
    """Grant ``role`` on ``org`` to ``user``. A parent's org defaults to the child's class.

    Raises ``PermissionDenied`` if ``actor`` may not grant this role there, ``InvalidInput`` for
    a role held on the wrong kind of org, ``Conflict`` if the user already holds it there.
    """
    if role == Role.PARENT and child is not None and org is None:
        student = child.role_assignments.filter(role=Role.STUDENT).select_related("org").first()
        org = student.org if student else None
    _check_assignment(role, org, child)
    if not permissions.can_grant(actor, role, org):
        raise PermissionDenied(_("You cannot grant this role here."))
    if not can(actor, "view", user):
        raise PermissionDenied()
    try:
        with transaction.atomic(), change_context(actor=actor, source=source):
            assignment = RoleAssignment(user=user, role=role, org=org, child=child)
            assignment.save(force_insert=True)
            if role in {
                Role.PLATFORM_ADMIN,
                Role.SECURITY_OFFICER,
                Role.AUDITOR,
                Role.REGION_ADMIN,
                Role.SCHOOL_ADMIN,
            }:
                record_audit(
                    "identity.role.granted",
                    actor=actor,
                    subject=user,
                    org_path=org.path if org else "",
                    extra={"role": role},
                )
    except IntegrityError as exc:
        raise Conflict(
            _("This account already holds this role there."), code="DUPLICATE_ROLE"
        ) from exc
    user.clear_role_cache()
    return assignment


def revoke_role(*, actor: Any, assignment: RoleAssignment, source: str = "ui") -> None:
    """Remove a role assignment (the change log keeps it)."""
    if not can(actor, "change", assignment) or not permissions.can_grant(
        actor, assignment.role, assignment.org
    ):
        raise PermissionDenied()
    if assignment.user_id == getattr(actor, "pk", None) and assignment.role == Role.PLATFORM_ADMIN:
        raise invalid("role", "SELF_REVOKE", _("You cannot remove your own platform role."))
    with transaction.atomic(), change_context(actor=actor, source=source):
        record_audit(
            "identity.role.revoked",
            actor=actor,
            subject=assignment.user,
            org_path=assignment.org.path if assignment.org else "",
            extra={"role": assignment.role},
        )
        assignment.delete()
    assignment.user.clear_role_cache()


def generate_password(length: int = 14) -> str:
    """A random password that satisfies the password policy (all four character classes)."""
    alphabet = string.ascii_letters + string.digits + "!#%+-=?@"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _i in range(length))
        if (
            any(c.islower() for c in candidate)
            and any(c.isupper() for c in candidate)
            and any(c.isdigit() for c in candidate)
            and any(not c.isalnum() for c in candidate)
        ):
            return candidate


def reset_password(*, actor: Any, user: User, source: str = "ui") -> str:
    """Give ``user`` a one-time temporary password they must change at next login.

    Needs ``change`` on the account. Unlocks the account, revokes its sessions and API tokens
    (whoever reset it may fear they leaked), and writes
    ``identity.password.reset``. Returns the temporary password (shown once).
    """
    if not can(actor, "change", user):
        raise PermissionDenied()
    temporary = generate_password()
    with transaction.atomic(), change_context(actor=actor, source=source):
        user.set_password(temporary)
        user.must_change_password = True
        user.password_changed_at = timezone.now()
        user.failed_login_count = 0
        user.locked_until = None
        user.save(
            update_fields=[
                "password",
                "must_change_password",
                "password_changed_at",
                "failed_login_count",
                "locked_until",
            ]
        )
        _revoke_all_sessions(user)
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        record_audit(
            "identity.password.reset", actor=actor, subject=user, org_path=user.changelog_org_path()
        )
    return temporary


def set_role_policy(*, actor: Any, role: str, mfa_required: bool, source: str = "ui") -> RolePolicy:
    """Require (or stop requiring) multi-factor login for every holder of ``role``."""
    if not getattr(actor, "is_platform_admin", False):
        raise PermissionDenied()
    if role not in Role.values:
        raise invalid("role", "INVALID_CHOICE", _("Unknown role."))
    with transaction.atomic(), change_context(actor=actor, source=source):
        policy = RolePolicy.objects.filter(role=role).first() or RolePolicy(role=role)
        policy.mfa_required = mfa_required
        policy.save()
        record_audit(
            "identity.policy.changed",
            actor=actor,
            subject=policy,
            extra={"role": role, "mfa_required": mfa_required},
        )
    return policy


#: Roles that require multi-factor login unless a ``RolePolicy`` row says otherwise.
DEFAULT_MFA_ROLES = frozenset(
    {Role.PLATFORM_ADMIN, Role.REGION_ADMIN, Role.SECURITY_OFFICER, Role.AUDITOR}
)


def mfa_required_for(user: User) -> bool:
    """True if any of the user's roles requires multi-factor login (policy rows override the
    defaults in ``DEFAULT_MFA_ROLES``)."""
    roles = user.roles
    if not roles:
        return False
    overrides = dict(RolePolicy.objects.filter(role__in=roles).values_list("role", "mfa_required"))
    return any(overrides.get(role, role in DEFAULT_MFA_ROLES) for role in roles)


def _revoke_all_sessions(user: User) -> int:
    """Revoke every live session of ``user`` (sessions are operational state, not logged)."""
    engine: type[SessionBase] = import_string(settings.SESSION_ENGINE + ".SessionStore")
    now = timezone.now()
    count = 0
    for session in UserSession.objects.filter(user=user, revoked_at__isnull=True):
        engine(session_key=session.session_key).delete()
        session.revoked_at = now
        session.save(update_fields=["revoked_at"])
        count += 1
    return count
