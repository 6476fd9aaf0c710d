"""The content tree (intents, answers, sources, config), loaded once and validated into frozen
dataclasses: `model` holds them, `reader` turns YAML into typed fields with located problems,
`loaders` reads each file and cross-checks them."""

from ..errors import ContentError, Problem
from .loaders import default_root, load
from .model import (CONFIG_ENV, CONTENT_ENV, SAFETY_MESSAGES, SMALL_TALK, Answer, Citation, Confirm, Gap, Group,
                    Intent, Knowledge, Lexicon, MatchingConfig, SafetyConfig, SafetyRule, Settings, Source, Synonym)
from .reader import _Reader

__all__ = ["CONFIG_ENV", "CONTENT_ENV", "SAFETY_MESSAGES", "SMALL_TALK", "Answer", "Citation", "Confirm", "ContentError",
           "Gap", "Group", "Intent", "Knowledge", "Lexicon", "MatchingConfig", "Problem", "SafetyConfig", "SafetyRule",
           "Settings", "Source", "Synonym", "_Reader", "default_root", "load"]
