"""The full-screen Textual app: `companion` with no command. Never imports torch."""
