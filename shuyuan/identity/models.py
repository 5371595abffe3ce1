"""Accounts, roles and login state.

One person, one account (一人一号)
    ``User`` is a natural person. A teacher who is also a parent has one ``User`` and two
    ``RoleAssignment`` rows. The resident ID number (GB 11643) and mobile number are personal
    data: stored only as SM4-GCM ciphertext (``*_cipher``), found through a keyed SM3 blind index
    (``*_index``, unique, so a second account for the same ID number is impossible) and shown
    masked (``*_masked``) unless the viewer may reveal them. ``home_org`` is the org that
    registered the account (a student's school); it scopes who may manage the account before
    any role is granted.

Roles
    ``RoleAssignment`` grants one role on one org subtree (a school admin on a school, a head
    teacher on a class). A parent's assignment names the child (``child``) and sits on the
    child's org. ``permissions.py`` turns assignments into row filters for ``visible_to``.
    ``RolePolicy`` says per role whether multi-factor login is required.

Login state
    TOTP secrets (SM4-GCM encrypted) and one-time ``RecoveryCode`` hashes; failure counters and
    lockout; ``UserSession`` lists a user's sessions so they can be revoked; ``ApiToken`` holds
    hashed personal tokens for the REST API.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shuyuan.core.models import ChangeLoggedModel, ChangeLoggedQuerySet, Org


class Role(models.TextChoices):
    PLATFORM_ADMIN = "platform_admin", _("Platform administrator")
    REGION_ADMIN = "region_admin", _("Region administrator")
    SCHOOL_ADMIN = "school_admin", _("School administrator")
    TEACHER = "teacher", _("Teacher")
    HEAD_TEACHER = "head_teacher", _("Head teacher")
    STUDENT = "student", _("Student")
    PARENT = "parent", _("Parent or guardian")
    RESOURCE_REVIEWER = "resource_reviewer", _("Resource reviewer")
    SECURITY_OFFICER = "security_officer", _("Security officer")
    AUDITOR = "auditor", _("Auditor")


class Gender(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class UserQuerySet(ChangeLoggedQuerySet):
    pass


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]  # django-stubs dynamic base
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        user: User = self.get(username=username)
        return user


class User(ChangeLoggedModel, AbstractBaseUser):
    """A natural person's one account on the platform (一人一号)."""

    username = models.CharField(
        _("account name"),
        max_length=64,
        unique=True,
        help_text=_("Letters, digits, and . _ - only; 3 to 64 characters."),
    )
    real_name = models.CharField(_("real name"), max_length=64)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    id_number_cipher = models.BinaryField(_("ID number (encrypted)"), null=True, editable=False)
    id_number_index = models.CharField(
        _("ID number blind index"), max_length=64, null=True, unique=True, editable=False
    )
    id_number_masked = models.CharField(_("ID number"), max_length=18, blank=True)
    mobile_cipher = models.BinaryField(_("mobile (encrypted)"), null=True, editable=False)
    mobile_index = models.CharField(
        _("mobile blind index"), max_length=64, null=True, unique=True, editable=False
    )
    mobile_masked = models.CharField(_("mobile number"), max_length=11, blank=True)
    email = models.EmailField(_("email"), blank=True)
    home_org = models.ForeignKey(
        Org,
        verbose_name=_("registered at"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="registered_users",
    )
    is_active = models.BooleanField(_("active"), default=True)
    must_change_password = models.BooleanField(_("must change password"), default=False)
    date_joined = models.DateTimeField(_("joined at"), default=timezone.now, editable=False)
    password_changed_at = models.DateTimeField(_("password changed at"), null=True, blank=True)
    totp_secret_cipher = models.BinaryField(_("TOTP secret (encrypted)"), null=True, editable=False)
    totp_confirmed_at = models.DateTimeField(_("MFA enrolled at"), null=True, blank=True)
    totp_last_step = models.BigIntegerField(_("last TOTP step used"), null=True, blank=True)
    failed_login_count = models.PositiveIntegerField(_("failed logins"), default=0)
    lockout_count = models.PositiveIntegerField(_("lockouts"), default=0)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["real_name"]

    changelog_redacted = frozenset(
        {
            "password",
            "id_number_cipher",
            "id_number_index",
            "mobile_cipher",
            "mobile_index",
            "totp_secret_cipher",
        }
    )
    changelog_operational = frozenset(
        {"last_login", "failed_login_count", "lockout_count", "locked_until", "totp_last_step"}
    )

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering: ClassVar = ["username"]
        indexes: ClassVar = [models.Index(fields=["real_name"])]

    def __str__(self) -> str:
        return f"{self.real_name} ({self.username})"

    def changelog_org_path(self) -> str:
        return self.home_org.path if self.home_org_id and self.home_org else ""

    # Roles are cached per instance (one query per request); actions that grant or revoke
    # roles clear the cache.
    def role_assignments_cached(self) -> list[RoleAssignment]:
        cache: list[RoleAssignment] | None = getattr(self, "_role_cache", None)
        if cache is None:
            cache = list(RoleAssignment.objects.filter(user=self).select_related("org", "child"))
            self._role_cache = cache
        return cache

    def clear_role_cache(self) -> None:
        self.__dict__.pop("_role_cache", None)

    @property
    def roles(self) -> set[str]:
        return {a.role for a in self.role_assignments_cached()}

    @property
    def is_platform_admin(self) -> bool:
        return Role.PLATFORM_ADMIN in self.roles

    @property
    def is_staff(self) -> bool:
        return self.is_platform_admin

    @property
    def has_mfa(self) -> bool:
        return self.totp_confirmed_at is not None

    def is_locked(self, now: Any = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or timezone.now())


class RoleAssignmentQuerySet(ChangeLoggedQuerySet):
    pass


class RoleAssignment(ChangeLoggedModel):
    """One role held by one account on one org subtree (a parent's also names the child)."""

    user = models.ForeignKey(
        User, verbose_name=_("account"), on_delete=models.PROTECT, related_name="role_assignments"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    org = models.ForeignKey(
        Org,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="role_assignments",
    )
    child = models.ForeignKey(
        User,
        verbose_name=_("child"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="guardian_assignments",
    )
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now, editable=False)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        ordering: ClassVar = ["user_id", "role", "id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["user", "role", "org"],
                condition=models.Q(child__isnull=True, org__isnull=False),
                name="roleassignment_unique_org_role",
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=models.Q(org__isnull=True),
                name="roleassignment_unique_global_role",
            ),
            models.UniqueConstraint(
                fields=["user", "child"],
                condition=models.Q(child__isnull=False),
                name="roleassignment_unique_child",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["org", "role"])]

    def __str__(self) -> str:
        where = self.org.name if self.org_id and self.org else "*"
        return f"{self.user.username}: {self.get_role_display()} @ {where}"

    def changelog_org_path(self) -> str:
        return self.org.path if self.org_id and self.org else ""

    def changelog_parent(self) -> tuple[str, str] | None:
        return (User._meta.label_lower, str(self.user_id))


class RolePolicy(ChangeLoggedModel):
    """Per-role login policy: whether holders of the role must use multi-factor login."""

    role = models.CharField(_("role"), max_length=32, choices=Role.choices, unique=True)
    mfa_required = models.BooleanField(_("MFA required"), default=False)

    objects = ChangeLoggedQuerySet.as_manager()

    class Meta:
        verbose_name = _("role policy")
        verbose_name_plural = _("role policies")
        ordering: ClassVar = ["role"]

    def __str__(self) -> str:
        return self.get_role_display()


class RecoveryCode(models.Model):
    """A one-time MFA recovery code, stored only as a keyed SM3 hash."""

    user = models.ForeignKey(
        User, verbose_name=_("account"), on_delete=models.CASCADE, related_name="recovery_codes"
    )
    code_hash = models.CharField(_("code hash"), max_length=64)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")

    def __str__(self) -> str:
        return f"{self.user_id}:{self.code_hash[:8]}"


class UserSession(models.Model):
    """A login session, listed on the account page so its owner can revoke it."""

    user = models.ForeignKey(
        User, verbose_name=_("account"), on_delete=models.CASCADE, related_name="sessions"
    )
    session_key = models.CharField(_("session key"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("signed in at"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen at"), default=timezone.now)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=255, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering: ClassVar = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ApiToken(models.Model):
    """A personal REST API token; only its keyed hash is stored."""

    user = models.ForeignKey(
        User, verbose_name=_("account"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, db_index=True)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering: ClassVar = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
