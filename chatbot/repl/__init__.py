"""The interactive terminal chat (prompt_toolkit), split into commands, keys, toolbar, app."""
