"""LIFT Reader: memorize whole books into a local language model, then ask about them."""

__version__ = "0.1.0"
