"""Understanding: free text in, one typed `Interpretation` out (topic, honest gap or out of domain)."""

from .interpretation import Interpretation, Reading, label_kind
from .interpreter import Interpreter

__all__ = ["Interpretation", "Interpreter", "Reading", "label_kind"]
