"""Other semantic layers' formats: the project exported as (or imported from) another tool's model."""
