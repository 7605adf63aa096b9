"""Plain dataclasses and pure rules; nothing here knows about AWS."""
