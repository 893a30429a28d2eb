"""The people with a password: cashiers (``cashiers``, the terminals' POS profiles) and
managers (``managers``, the back office), who share one life (``life``), and the managers'
sign-in (``signin``). Nobody is ever deleted: one who left is disabled, and keeps the history.
"""
