"""revmachine: one revenue cycle shared by marketing, sales and finance."""

__version__ = "0.1.0"
