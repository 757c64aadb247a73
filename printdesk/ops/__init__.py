"""Operations: backing up and restoring an installation (docs/operations.md)."""
