"""The registries bureaus, towns and heads keep: enterprises (§2.1) and their staff (§2.2), by form and by
workbook import, one schema each for both."""
