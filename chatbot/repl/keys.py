"""Key bindings: Ctrl-C clears the line, Ctrl-D on an empty line leaves, Esc-Enter adds a line."""

from __future__ import annotations

from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent


def build() -> KeyBindings:
    """The chat's key bindings."""
    kb = KeyBindings()

    @kb.add("c-c")
    def _cancel(event: KeyPressEvent) -> None:
        """Clear the line rather than quit: Ctrl-C means "never mind"."""
        event.app.current_buffer.reset()

    @kb.add("escape", "enter")
    def _newline(event: KeyPressEvent) -> None:
        """A line break inside one message."""
        event.app.current_buffer.insert_text("\n")

    return kb
