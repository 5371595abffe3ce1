"""Portal pages of the learning app, one module per area (``urls.py`` joins their patterns)."""
