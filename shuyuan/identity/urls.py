"""Portal URLs of the identity app: sign-in and account security (auth), administration
(accounts)."""

from .views import accounts, auth

app_name = "identity"
urlpatterns = [*auth.urlpatterns, *accounts.urlpatterns]
