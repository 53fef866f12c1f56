"""Background work a user starts and a page follows: one life cycle (claim, lease, finish) shared by
workbook imports, exports and feed files, and the import and export jobs themselves."""
