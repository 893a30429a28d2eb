"""Exports for the accountant and the tax auditor, built from the journal-backed tables."""
