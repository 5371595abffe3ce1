"""Import of base data: readers (zip/CSV/XLSX) → rules (normalise, validate) → engine (match,
merge with field-level provenance, findings). ``types`` holds the shapes passed between them."""
