"""Forms for sign-in and account security: they only parse input; rules live in the actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

CODE_ATTRS = {
    "autocomplete": "one-time-code",
    "autocapitalize": "none",
    "spellcheck": "false",
    "class": "input-code",
}


class LoginForm(forms.Form):
    """Identifier (account name, mobile or ID number) and password."""

    identifier = forms.CharField(
        label=_("Account name, mobile number or ID number"),
        help_text=_("Any one of the three signs you in to your one account."),
        max_length=128,
        strip=True,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "username",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    next = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)


class SecondFactorForm(forms.Form):
    """A TOTP code from the authenticator app, or a recovery code."""

    code = forms.CharField(
        label=_("Code from your authenticator app, or a recovery code"),
        max_length=32,
        widget=forms.TextInput(attrs={**CODE_ATTRS, "autofocus": True}),
    )


class TotpConfirmForm(forms.Form):
    """The first code shown by the authenticator app, proving the secret was saved."""

    code = forms.CharField(
        label=_("6-digit code from your authenticator app"),
        max_length=16,
        widget=forms.TextInput(attrs={**CODE_ATTRS, "inputmode": "numeric"}),
    )


class MfaChangeForm(forms.Form):
    """Re-check a second factor before regenerating recovery codes or switching MFA off.

    Both uses share a page, so each instance gets its own ``prefix`` (``regenerate`` or
    ``disable``) and every label stays bound to its own input.
    """

    code = forms.CharField(
        label=_("Current code from your authenticator app, or a recovery code"),
        max_length=32,
        widget=forms.TextInput(attrs=CODE_ATTRS),
    )


class PasswordChangeForm(forms.Form):
    """Current password, new password twice. The password policy is checked by the action."""

    current_password = forms.CharField(
        label=_("Current password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    new_password = forms.CharField(
        label=_("New password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_confirm = forms.CharField(
        label=_("New password again"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password"].help_text = " ".join(
            str(text) for text in password_validation.password_validators_help_texts()
        )

    def clean(self) -> dict[str, Any]:
        """The two new passwords must match."""
        cleaned = super().clean() or {}
        new, again = cleaned.get("new_password"), cleaned.get("new_password_confirm")
        if new and again and new != again:
            self.add_error("new_password_confirm", _("The two new passwords do not match."))
        return cleaned


EXPIRY_CHOICES = [
    ("30", _("30 days")),
    ("90", _("90 days")),
    ("180", _("180 days")),
    ("366", _("One year")),
]


class ApiTokenForm(forms.Form):
    """Name and lifetime of a new personal API token."""

    name = forms.CharField(label=_("Token name"), max_length=100)
    expires_in_days = forms.TypedChoiceField(
        label=_("Expires after"), choices=EXPIRY_CHOICES, coerce=int, initial="90"
    )
