"""HTML forms of the identity app, split like the views."""
