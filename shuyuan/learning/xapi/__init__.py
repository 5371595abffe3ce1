"""The xAPI Learning Record Store: validation, storage keys, the HTTP resources under /xapi/."""
