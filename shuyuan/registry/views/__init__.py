"""Portal pages of the registry, one module per area; each module defines ``urlpatterns``."""
