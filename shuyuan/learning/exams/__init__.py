"""Pure exam logic: item content and answers per kind (``content``) and QTI 3.0 import and
export (``qti``). Nothing here touches the database; actions and queries call these functions.
"""
