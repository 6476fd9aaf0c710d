"""The web chat page (`sarcoma-chat serve --web`): its settings, widget tokens, routes and static assets."""
