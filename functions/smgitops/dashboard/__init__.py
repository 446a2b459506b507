"""The local web dashboard and the audit report (`smgitops dashboard`, `smgitops report`)."""
