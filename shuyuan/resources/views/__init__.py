"""Portal pages of the resources app, one module per area; ``urls.py`` joins their patterns."""
