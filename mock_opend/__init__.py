"""mock-opend: a local, wire-compatible mock of Futu/Moomoo OpenD (proto 3301)."""

__version__ = "0.1.0"
