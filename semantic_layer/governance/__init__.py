"""Tools for the people who own a project's definitions: lineage, `diff` between git versions,
`lint` rules, the static catalogue site and usage reports (docs/cli.md)."""
