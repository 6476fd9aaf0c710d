"""Sarcoma support chatbot: sourced answers, honest fallbacks, urgent-help guidance."""
