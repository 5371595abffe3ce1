"""The automatic content audit of resource versions.

- ``sniff``: the file type by content (magic numbers via ``filetype``, OOXML by the main part
  its ``[Content_Types].xml`` names), the types each resource type takes, and the zip-bomb and
  path checks done before any OOXML file is opened;
- ``extract``: text from PDF (pypdf), DOCX (python-docx) and PPTX (python-pptx), capped;
- ``words``: the sensitive-word list (parsing, an Aho-Corasick automaton cached per list
  version, matching);
- ``duplicates``: exact (SM3 of the content) and near (64-bit SimHash) duplicates;
- ``completeness``: how much of the recommended metadata is filled in;
- ``run``: ``audit_version`` runs them all and moves the version into review.
"""
