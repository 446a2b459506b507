"""Fetching a repository at a commit with GitPython."""
