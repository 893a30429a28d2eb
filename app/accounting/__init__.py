"""What the accountant loads: a store's Z closings as ledger postings, from the journal.

``settings`` (the accounts of each figure and tender, per chart, confirmed by the owner),
``postings`` (a Z's balanced postings, read from its journal entries), a module per file format
(``fec``, ``datev``, and ``dsfinvk`` for the tax auditor's cash export), and ``exports`` (a file
prepared, then journaled as handed out). docs/accounting.md says what each file holds.
"""
