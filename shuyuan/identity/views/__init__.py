"""Portal views of the identity app, split by concern: ``auth`` (sign-in, MFA, sessions,
password, tokens) and ``accounts`` (home pages, account and role administration)."""
